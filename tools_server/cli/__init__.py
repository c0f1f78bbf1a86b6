"""The console script: argv and the environment -> settings -> backend -> a transport (stdio, HTTP, local-api, call)."""
