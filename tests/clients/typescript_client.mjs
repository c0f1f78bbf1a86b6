// The TypeScript MCP SDK as a client of the console script over stdio, driven line by line by
// tests/clients/test_typescript_sdk.py: each stdin line is a JSON request, each stdout line the JSON answer.
//   node typescript_client.mjs v1|v2 COMMAND   (v1: @modelcontextprotocol/sdk, v2: @modelcontextprotocol/client)
//   {"list": true}                 -> {"tools": [...], "compiled": {name: "ok" | error}, "strict": {name: "ok" | error}}
//   {"call": NAME, "args": {...}}  -> the CallToolResult, or {"thrown": message} when the SDK rejects it
// The SDK compiles every output schema with its Ajv validator when it lists the tools and checks each result's
// structured content against it; the input schemas are compiled here by the same validator and by Ajv in strict
// mode (unknown keywords, ambiguous types: what a stricter client would refuse).
import { createInterface } from "node:readline";

const [flavour, command] = process.argv.slice(2);
const sdk =
  flavour === "v1"
    ? {
        Client: (await import("@modelcontextprotocol/sdk/client/index.js")).Client,
        StdioClientTransport: (await import("@modelcontextprotocol/sdk/client/stdio.js")).StdioClientTransport,
        AjvJsonSchemaValidator: (await import("@modelcontextprotocol/sdk/validation/ajv")).AjvJsonSchemaValidator,
      }
    : {
        Client: (await import("@modelcontextprotocol/client")).Client,
        StdioClientTransport: (await import("@modelcontextprotocol/client/stdio")).StdioClientTransport,
        AjvJsonSchemaValidator: (await import("@modelcontextprotocol/client/validators/ajv")).AjvJsonSchemaValidator,
      };
const { Ajv } = await import("ajv");

const client = new sdk.Client({ name: "tools-server-tests", version: "1.0.0" });
// The environment the test gives this process (HOME, the local store) is the server's: nothing else leaks in.
await client.connect(new sdk.StdioClientTransport({ command, args: [], env: process.env, stderr: "ignore" }));

function compiles(compile) {
  try {
    compile();
    return "ok";
  } catch (error) {
    return String(error.message ?? error);
  }
}

async function answer(request) {
  if (request.list) {
    const { tools } = await client.listTools();
    const compiled = {};
    const strict = {};
    for (const tool of tools) {
      compiled[tool.name] = compiles(() => new sdk.AjvJsonSchemaValidator().getValidator(tool.inputSchema));
      strict[tool.name] = compiles(() => new Ajv({ strict: true, allErrors: true }).compile(tool.inputSchema));
    }
    return { tools, compiled, strict };
  }
  try {
    return await client.callTool({ name: request.call, arguments: request.args });
  } catch (error) {
    return { thrown: String(error.message ?? error) };
  }
}

const lines = createInterface({ input: process.stdin });
for await (const line of lines) {
  if (line.trim()) process.stdout.write(JSON.stringify(await answer(JSON.parse(line))) + "\n");
}
await client.close();
