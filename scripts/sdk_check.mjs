// Doist's own TypeScript SDK against the local backend: every Sync response it gets must pass the SDK's zod schemas.
//
// Usage: node scripts/sdk_check.mjs [--url http://127.0.0.1:PORT] [--token TOKEN] [--second-token TOKEN]
// Without --url it starts `tools-server local-api` (TOOLS_SERVER_BIN, default .venv/bin/tools-server) on a free
// loopback port with a throwaway database and a second account (bea@example.com), and stops it at the end. With
// --url, the second account's steps run when --second-token names an account of that backend with that email. Exit 0 when every step passed; 1 with the step,
// the schema path and the SDK's message otherwise; 2 when the backend could not be started.

import { spawn } from 'node:child_process'
import { createHash, randomBytes, randomUUID } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import net from 'node:net'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'

import {
    SYNC_RESOURCE_TYPES,
    SyncResponseSchema,
    TodoistApi,
    getAuthToken,
    getAuthorizationUrl,
    refreshAuthToken,
    registerClient,
    revokeToken,
} from '@doist/todoist-sdk'

const argv = process.argv.slice(2)
const option = (name) => {
    const at = argv.indexOf(name)
    return at >= 0 ? argv[at + 1] : undefined
}

function freePort() {
    return new Promise((resolve, reject) => {
        const server = net.createServer()
        server.once('error', reject)
        server.listen(0, '127.0.0.1', () => {
            const { port } = server.address()
            server.close(() => resolve(port))
        })
    })
}

const BEA = 'bea@example.com'

async function startBackend(token, second) {
    const dir = mkdtempSync(path.join(tmpdir(), 'sdk-check-'))
    const port = await freePort()
    const bin = process.env.TOOLS_SERVER_BIN || path.join('.venv', 'bin', 'tools-server')
    const child = spawn(
        bin,
        ['local-api', '--host', '127.0.0.1', '--port', String(port), '--db', path.join(dir, 'sdk.db'), '--token', token,
            '--account', `${second}:${BEA}:Bea Bauer`],
        { stdio: ['ignore', 'inherit', 'inherit'] },
    )
    let exited = null
    process.on('exit', () => child.kill('SIGTERM'))
    child.on('exit', (code) => {
        exited = code
    })
    child.on('error', (error) => {
        exited = error.message
    })
    const url = `http://127.0.0.1:${port}`
    for (let attempt = 0; attempt < 300; attempt++) {
        if (exited !== null) break
        try {
            await fetch(`${url}/api/v1/sync`, { method: 'POST', headers: { authorization: `Bearer ${token}` } })
            return { url, stop: () => (child.kill('SIGTERM'), rmSync(dir, { recursive: true, force: true })) }
        } catch {
            await sleep(100)
        }
    }
    child.kill('SIGKILL')
    rmSync(dir, { recursive: true, force: true })
    console.error(`sdk_check: ${bin} local-api did not start (exit: ${exited})`)
    process.exit(2)
}

const camel = (key) => key.replace(/_([a-z0-9])/g, (_, c) => c.toUpperCase())
const camelKeys = (value) =>
    Array.isArray(value)
        ? value.map(camelKeys)
        : value && typeof value === 'object'
          ? Object.fromEntries(Object.entries(value).map(([k, v]) => [camel(k), camelKeys(v)]))
          : value

function locate(raw) {
    // The SDK parses the whole body at once and its issue paths start inside one object; parse each resource (and
    // each object of a list) alone to name the one that fails.
    const found = []
    for (const [key, value] of Object.entries(raw ?? {})) {
        const parts = Array.isArray(value) ? value.map((one, i) => [`${key}[${i}]`, [one], one?.id]) : [[key, value]]
        for (const [where, part, id] of parts) {
            let issues = []
            try {
                const result = SyncResponseSchema.safeParse({ [camel(key)]: camelKeys(part) })
                issues = result.success ? [] : result.error.issues
            } catch (error) {
                // Some SDK schemas call .parse() inside a transform, which throws instead of reporting.
                issues = Array.isArray(error?.issues) ? error.issues : [{ path: [], message: String(error) }]
            }
            {
                for (const issue of issues) {
                    const field = issue.path.filter((p) => typeof p === 'string' && p !== camel(key)).join('.')
                    found.push(`  ${where}${id ? ` (id ${id})` : ''} ${field}: ${issue.message}`)
                }
            }
        }
    }
    return found
}

function describe(error, raw) {
    if (Array.isArray(error?.issues)) {
        const found = locate(raw)
        return (found.length ? found : error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`)).join('\n')
    }
    if (error?.name === 'TodoistSyncError' || error?.httpStatusCode !== undefined) {
        return `  ${error.message} (http ${error.httpStatusCode}) ${JSON.stringify(error.responseData ?? {})}`
    }
    return `  ${error?.stack ?? error}`
}

class CheckFailed extends Error {}

function expect(step, condition, message) {
    if (!condition) throw new CheckFailed(`${step}: ${message}`)
}

let command = (type, args, tempId) => ({ type, uuid: randomUUID(), args, ...(tempId ? { tempId } : {}) })

async function main() {
    const token = option('--token') || `sdk-check-${randomUUID()}`
    const given = option('--url')
    const second = given ? option('--second-token') : `sdk-check-b-${randomUUID()}`
    const backend = given ? { url: given, stop: () => {} } : await startBackend(token, second)
    let lastBody = null
    const customFetch = async (url, init) => {
        const response = await fetch(url, init)
        const text = await response.text()
        try {
            lastBody = JSON.parse(text)
        } catch {
            lastBody = null
        }
        return {
            ok: response.ok,
            status: response.status,
            statusText: response.statusText,
            headers: Object.fromEntries(response.headers.entries()),
            text: async () => text,
            json: async () => JSON.parse(text),
        }
    }
    const api = new TodoistApi(token, { baseUrl: backend.url, customFetch })
    const everyType = [...SYNC_RESOURCE_TYPES]
    let step = 'start'
    const sync = async (name, request) => {
        step = name
        const response = await api.sync(request)
        for (const [uuid, status] of Object.entries(response.syncStatus ?? {})) {
            expect(name, status === 'ok', `command ${uuid} failed: ${JSON.stringify(status)}`)
        }
        console.log(`ok   ${name}`)
        return response
    }
    try {
        const full = await sync('full sync, resource_types ["all"]', { syncToken: '*', resourceTypes: ['all'] })
        expect(step, full.user && full.user.tzInfo, 'no user with tz_info')
        const listed = await sync('full sync, every SDK resource type listed', {
            syncToken: '*',
            resourceTypes: everyType,
        })
        for (const key of ['projects', 'sections', 'labels', 'items', 'notes', 'filters', 'reminders', 'dayOrders']) {
            expect(step, listed[key] !== undefined, `resource ${key} missing from the response`)
        }

        const account = [
            command('project_add', { name: 'Work', color: 'berry_red' }, 'p_work'),
            command('project_add', { name: 'Clients', parentId: 'p_work' }, 'p_clients'),
            command('project_add', { name: 'Board', viewStyle: 'board', isFavorite: true }, 'p_board'),
            command('section_add', { name: 'Doing', projectId: 'p_work' }, 's_doing'),
            command('section_add', { name: 'Later', projectId: 'p_board' }, 's_later'),
            command(
                'item_add',
                {
                    content: 'Stand-up',
                    projectId: 'p_work',
                    sectionId: 's_doing',
                    priority: 4,
                    labels: ['work', 'meetings'],
                    due: { string: 'every weekday at 9am' },
                    deadline: { date: '2027-01-29' },
                    duration: { amount: 15, unit: 'minute' },
                },
                't_standup',
            ),
            command('item_add', { content: 'Prepare notes', parentId: 't_standup' }, 't_notes'),
            command('item_add', { content: 'Collect numbers', parentId: 't_notes', labels: ['work'] }, 't_numbers'),
            command(
                'item_add',
                { content: 'Call Madrid', projectId: 'p_clients', due: { string: 'tomorrow at 2pm', timezone: 'Europe/Madrid' } },
                't_madrid',
            ),
            command(
                'item_add',
                { content: 'Weekly review', due: { string: 'every friday at 4pm', timezone: 'Asia/Jakarta', lang: 'en' } },
                't_review',
            ),
            command('item_add', { content: 'Pay rent', due: { date: '2027-01-01' } }, 't_rent'),
            command('item_add', { content: 'Dentist', due: { date: '2027-01-05T10:30:00' } }, 't_dentist'),
            command('item_add', { content: 'Flight', due: { date: '2027-01-07T06:15:00.000000Z', timezone: 'America/New_York' } }, 't_flight'),
            command('item_add', { content: 'Offsite', projectId: 'p_board', duration: { amount: 2, unit: 'day' } }, 't_offsite'),
            command('item_add', { content: 'Plain inbox task', description: 'no dates at all' }, 't_plain'),
        ]
        const added = await sync('commands: projects, sub-projects, sections, nested tasks, labels, dues', {
            syncToken: listed.syncToken,
            resourceTypes: everyType,
            commands: account,
        })
        const ids = added.tempIdMapping ?? {}
        for (const c of account) expect(step, ids[c.tempId], `no temp_id_mapping for ${c.tempId}`)
        expect(step, (added.items ?? []).length === 10, `expected 10 new items, got ${(added.items ?? []).length}`)

        const changes = [
            command('item_close', { id: ids.t_plain }),
            command('item_close', { id: ids.t_standup }),
            command('item_complete', { id: ids.t_rent, completedAt: '2026-12-01T10:00:00.000000Z' }),
            command('item_complete', { id: ids.t_dentist, date_completed: '2026-12-01T11:00:00Z' }),
            command('item_uncomplete', { id: ids.t_rent }),
            command('item_move', { id: ids.t_madrid, projectId: ids.p_board }),
            command('item_move', { id: ids.t_flight, sectionId: ids.s_later }),
            command('item_move', { id: ids.t_offsite, parentId: ids.t_review }),
            command('item_update', { id: ids.t_review, priority: 2, due: { date: '2027-01-08T16:00:00', string: 'every friday at 4pm', isRecurring: true }, deadline: null }),
            command('item_update', { id: ids.t_madrid, duration: { amount: 45, unit: 'minute' }, description: 'agenda' }),
            command('item_delete', { id: ids.t_notes }),
        ]
        const changed = await sync('commands: close, recurring close, complete, uncomplete, move, update, delete', {
            syncToken: added.syncToken,
            resourceTypes: everyType,
            commands: changes,
        })
        const byId = new Map((changed.items ?? []).map((item) => [item.id, item]))
        expect(step, byId.get(ids.t_plain)?.checked === true, 'closed task not checked in the incremental sync')
        expect(step, byId.get(ids.t_standup)?.checked === false, 'recurring task checked instead of advanced')
        expect(step, byId.get(ids.t_numbers)?.isDeleted === true, 'sub-sub-task of a deleted task not deleted')
        expect(step, byId.get(ids.t_rent)?.checked === false, 'uncompleted task still checked')

        // The rest of the surface: comments, reminders, labels, filters, orders, archive, project and section edits.
        const surface = [
            command('note_add', { itemId: ids.t_review, content: 'bring the slides' }, 'n_task'),
            command('note_add', { projectId: ids.p_work, content: 'kick-off notes' }, 'n_project'),
            // A file by URL, as comment_items attaches one (DS 14: "any external resource").
            command(
                'note_add',
                { itemId: ids.t_review, content: 'the deck', fileAttachment: { fileUrl: 'https://example.com/deck.pdf', fileName: 'deck.pdf', fileType: 'application/pdf' } },
                'n_file',
            ),
            command('note_update', { id: 'n_task', content: 'bring the slides and the numbers' }),
            command('reminder_add', { itemId: ids.t_review, type: 'relative', minuteOffset: 30 }, 'r_rel'),
            command('reminder_add', { itemId: ids.t_madrid, type: 'absolute', due: { date: '2027-01-02T09:00:00' } }, 'r_abs'),
            command(
                'reminder_add',
                { itemId: ids.t_madrid, type: 'location', name: 'Office', locLat: '40.4168', locLong: '-3.7038', locTrigger: 'on_enter' },
                'r_loc',
            ),
            // As update_items sends a place (radius given, leaving), and with only what the SDK's type requires.
            command(
                'reminder_add',
                { itemId: ids.t_madrid, type: 'location', name: 'Home', locLat: '51.5074', locLong: '-0.1278', locTrigger: 'on_leave', radius: 200 },
                'r_home',
            ),
            command('reminder_add', { itemId: ids.t_madrid, type: 'location', name: 'Gym', locLat: '48.8566', locLong: '2.3522' }, 'r_gym'),
            command('reminder_delete', { id: 'r_home' }),
            command('label_add', { name: 'errands', color: 'lime_green', isFavorite: true }, 'l_errands'),
            command('label_update', { id: 'l_errands', name: 'chores' }),
            command('filter_add', { name: 'Urgent', query: 'p1 & today', color: 'red' }, 'f_urgent'),
            command('filter_update', { id: 'f_urgent', query: 'p1 | overdue' }),
            command('item_reorder', { items: [{ id: ids.t_review, childOrder: 1 }, { id: ids.t_rent, childOrder: 2 }] }),
            // item_update_day_orders is left out: the SDK rewrites the keys of ids_to_orders (reference §1), so no id
            // it sends there is one the backend knows.
            command('item_update_date_complete', { id: ids.t_standup, due: { date: '2027-01-04T09:00:00', string: 'every weekday at 9am', isRecurring: true }, isForward: 0 }),
            command('project_update', { id: ids.p_board, name: 'Kanban', color: 'sky_blue', isFavorite: false }),
            command('section_update', { id: ids.s_later, name: 'Someday' }),
            command('section_add', { name: 'Archive me', projectId: ids.p_work }, 's_old'),
            command('section_archive', { id: 's_old' }),
            command('project_add', { name: 'Old', color: 'grey' }, 'p_old'),
            command('project_archive', { id: 'p_old' }),
            command('project_unarchive', { id: 'p_old' }),
            command('project_move', { id: ids.p_clients, parentId: null }),
            command('project_add', { name: 'Doomed' }, 'p_doomed'),
            command('item_add', { content: 'goes with it', projectId: 'p_doomed' }, 't_doomed'),
            // Sharing (reference §3): the collaborator and both memberships come back in this response.
            command('share_project', { projectId: ids.p_work, email: 'ana@example.com' }),
        ]
        const extended = await sync('commands: comments, reminders, labels, filters, orders, archive, edits', {
            syncToken: changed.syncToken,
            resourceTypes: everyType,
            commands: surface,
        })
        const more = extended.tempIdMapping ?? {}
        expect(step, (extended.notes ?? []).length === 2 && (extended.projectNotes ?? []).length === 1, 'notes missing')
        expect(step, (extended.notes ?? []).some((n) => n.fileAttachment?.fileName === 'deck.pdf'), 'attachment missing')
        expect(step, (extended.reminders ?? []).length === 2, 'reminders missing')
        const located = (extended.remindersLocation ?? []).filter((r) => !r.isDeleted)
        expect(step, located.length === 2, 'location reminders missing')
        const gym = located.find((r) => r.name === 'Gym')
        expect(step, gym?.locTrigger === 'on_enter' && gym?.radius === 100, 'a place without trigger or radius not defaulted')
        expect(step, (extended.filters ?? []).length === 1, 'filter missing')
        const ana = (extended.collaborators ?? []).find((c) => c.email === 'ana@example.com')
        expect(step, ana !== undefined && (extended.collaboratorStates ?? []).length === 2, 'collaborators missing')
        // filter_update_orders goes out as this server sends it (the SDK would rewrite the keys of id_order_mapping,
        // reference §1); the SDK then validates the reordered filter an incremental sync returns.
        step = 'command: filter_update_orders (sent as is), then the reordered filter read by the SDK'
        const ordered = await fetch(`${backend.url}/api/v1/sync`, {
            method: 'POST',
            headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
            body: JSON.stringify({
                commands: [{ type: 'filter_update_orders', uuid: randomUUID(), args: { id_order_mapping: { [more.f_urgent]: 7 } } }],
            }),
        }).then((r) => r.json())
        expect(step, Object.values(ordered.sync_status ?? {})[0] === 'ok', `not ok: ${JSON.stringify(ordered.sync_status)}`)
        const reordered = await sync(step, { syncToken: extended.syncToken, resourceTypes: everyType })
        expect(step, (reordered.filters ?? []).some((f) => f.id === more.f_urgent && f.itemOrder === 7), 'order not kept')
        const removal = [
            // Only a collaborator of the project can be responsible: Ana is one of Work, until she is taken off it.
            command('item_update', { id: ids.t_standup, responsibleUid: ana.id }),
            command('delete_collaborator', { projectId: ids.p_work, email: 'ana@example.com' }),
            command('note_delete', { id: more.n_task }),
            command('reminder_delete', { id: more.r_rel }),
            command('reminder_update', { id: more.r_abs, type: 'absolute', due: { date: '2027-01-02T10:00:00' } }),
            command('label_delete', { id: more.l_errands }),
            // Shared labels (names on tasks): renamed, then taken off every task, by name (reference §3).
            command('label_rename', { nameOld: 'chores', nameNew: 'housework' }),
            command('label_delete_occurrences', { name: 'housework' }),
            command('filter_delete', { id: more.f_urgent }),
            command('section_unarchive', { id: more.s_old }),
            command('section_delete', { id: more.s_old }),
            command('project_delete', { id: more.p_doomed }),
        ]
        const removed = await sync('commands: deletes and tombstones of the new kinds', {
            syncToken: extended.syncToken,
            resourceTypes: everyType,
            commands: removal,
        })
        expect(step, (removed.notes ?? []).some((n) => n.isDeleted), 'no note tombstone')
        const left = (removed.collaboratorStates ?? []).filter((c) => c.isDeleted).length
        expect(step, left === 2, `memberships not ended: ${left}`)
        expect(step, (removed.items ?? []).some((i) => i.id === ids.t_standup && i.responsibleUid === ana.id), 'not assigned')
        const completed = await api.getCompletedTasksByCompletionDate({
            since: '2026-11-01T00:00:00Z',
            until: '2027-01-31T00:00:00Z',
        })
        step = 'REST completed tasks by completion date'
        expect(step, Array.isArray(completed.items), 'no items array')
        console.log(`ok   ${step} (${completed.items.length} tasks)`)
        const filtered = await api.getCompletedTasksByCompletionDate({
            since: '2026-11-01T00:00:00Z',
            until: '2027-01-31T00:00:00Z',
            filterQuery: '#Inbox & search: dentist',
            filterLang: 'en',
        })
        step = 'REST completed tasks with a filter query'
        const dentist = filtered.items.map((t) => t.content)
        expect(step, dentist.length === 1 && dentist[0] === "Dentist" && completed.items.length > 1, `kept: ${dentist}`)
        console.log(`ok   ${step} (${dentist.length} of ${completed.items.length} tasks)`)
        const shelved = await sync('commands: two projects archived, for the REST read', {
            syncToken: removed.syncToken,
            resourceTypes: everyType,
            commands: [
                ...['p_shelf1', 'p_shelf2'].flatMap((tempId) => [
                    command('project_add', { name: tempId }, tempId),
                    command('project_archive', { id: tempId }),
                ]),
                command('note_add', { itemId: ids.t_standup, content: 'moved to 9:30' }, 'n_kept'),
            ],
        })
        step = 'REST archived projects, a page of one and the next'
        const page = await api.getArchivedProjects({ limit: 1 })
        expect(step, page.results.length === 1 && page.nextCursor, 'no first page with a cursor')
        const rest = await api.getArchivedProjects({ limit: 1, cursor: page.nextCursor })
        const names = [...page.results, ...rest.results].map((p) => p.name).sort()
        expect(step, names.join() === 'p_shelf1,p_shelf2' && rest.nextCursor === null, `pages: ${names}`)
        console.log(`ok   ${step}`)
        step = 'REST comments on tasks and on a project'
        // The task's first comment was deleted above: only its attachment comment is listed; the project's is there.
        const onTask = await api.getComments({ taskId: ids.t_review })
        const onProject = await api.getComments({ projectId: ids.p_work, limit: 200 })
        const onTaskNow = onTask.results.map((c) => c.content)
        expect(step, onTaskNow.join() === 'the deck' && onTask.nextCursor === null, `deleted listed: ${onTaskNow}`)
        const kept = await api.getComments({ taskId: ids.t_standup })
        expect(step, kept.results.some((c) => c.content === 'moved to 9:30'), 'task comment missing')
        expect(step, onProject.results.some((c) => c.content === 'kick-off notes'), 'project comment missing')
        console.log(`ok   ${step}`)
        const stats = await api.getProductivityStats()
        step = 'REST productivity stats (completed/stats)'
        expect(step, stats.completedCount >= 2 && stats.daysItems.length === 7 && stats.weekItems.length === 4, 'counts')
        expect(step, stats.goals.dailyGoal === 5 && stats.goals.currentDailyStreak.count >= 0, 'goals')
        console.log(`ok   ${step} (${stats.completedCount} completed)`)
        step = 'REST activity log (getActivityLogs): filters and pages'
        // The SDK sends its modern names ("task:completed") and this backend reads them as the API's ("item:...").
        const doneOnes = await api.getActivityLogs({ objectEventTypes: ['task:completed'], limit: 2 })
        expect(step, doneOnes.results.length === 2 && doneOnes.nextCursor, 'no first page of completions with a cursor')
        expect(step, doneOnes.results.every((e) => e.objectType === 'task' && e.eventType === 'completed'), 'wrong events')
        const doneRest = await api.getActivityLogs({ objectEventTypes: ['task:completed'], limit: 2, cursor: doneOnes.nextCursor })
        const doneIds = [...doneOnes.results, ...doneRest.results].map((e) => e.id)
        expect(step, new Set(doneIds).size === doneIds.length && doneRest.results.length >= 1, `pages: ${doneIds}`)
        const onReview = await api.getActivityLogs({ objectId: ids.t_review, dateFrom: '2000-01-01', dateTo: new Date() })
        expect(step, onReview.results.some((e) => e.eventType === 'updated' && e.extraData?.content === 'Weekly review'), 'no update of the task')
        const inWork = await api.getActivityLogs({ parentProjectId: ids.p_work, objectEventTypes: ['comment:'] })
        expect(step, inWork.results.some((e) => e.objectType === 'comment' && e.extraData?.content === 'kick-off notes'), 'no project comment')
        const archived = await api.getActivityLogs({ objectEventTypes: ['project:archived', ':deleted'] })
        expect(step, archived.results.some((e) => e.eventType === 'archived') && archived.results.some((e) => e.eventType === 'deleted'), 'types')
        const withChildren = await api.getActivityLogs({ objectId: ids.p_work, includeChildObjects: true, initiatorIdNull: true })
        expect(step, withChildren.results.some((e) => e.objectType === 'project') && withChildren.results.some((e) => e.objectType === 'task'), 'no child events')
        console.log(`ok   ${step} (${doneIds.length} completions over 2 pages)`)
        const changedSince = shelved

        await sync('incremental sync, nothing changed', { syncToken: changedSince.syncToken, resourceTypes: everyType })
        const after = await sync('full sync after the changes, ["all"]', { syncToken: '*', resourceTypes: ['all'] })
        const live = new Set((after.items ?? []).map((item) => item.id))
        expect(step, !live.has(ids.t_plain) && !live.has(ids.t_notes), 'closed or deleted task in a full sync')
        expect(step, live.has(ids.t_standup) && live.has(ids.t_rent), 'active task missing from a full sync')
        await sync('full sync after the changes, every type listed', { syncToken: '*', resourceTypes: everyType })
        await sync('incremental sync from the first token', { syncToken: full.syncToken, resourceTypes: ['all'] })

        // Uploads (POST/DELETE /api/v1/uploads): a PNG through the SDK's uploadFile, whose answer it validates as an
        // Attachment; the bytes served back at file_url; a comment carrying it; deleteUpload, then the URL is gone.
        step = 'REST upload (uploadFile): a PNG, its file_url, a comment with it, deleteUpload'
        const png = Buffer.from('89504e470d0a1a0a0000000d494844520000000300000002080000000000000000', 'hex')
        const upload = await api.uploadFile({ file: png, fileName: 'chart.png', projectId: ids.p_work })
        expect(step, upload.resourceType === 'image' && upload.fileName === 'chart.png' && upload.fileType === 'image/png', 'upload answer')
        expect(step, upload.fileSize === png.length && upload.imageWidth === 3 && upload.imageHeight === 2, 'size or image fields')
        expect(step, upload.uploadState === 'completed' && upload.image === upload.fileUrl, 'upload state or image URL')
        const auth = { headers: { Authorization: `Bearer ${token}` } }
        const served = await fetch(upload.fileUrl, auth)
        expect(step, served.ok && Buffer.from(await served.arrayBuffer()).equals(png), 'file_url does not serve the bytes')
        const attachment = { fileUrl: upload.fileUrl, fileName: upload.fileName, fileType: upload.fileType, resourceType: upload.resourceType }
        const noted = await api.sync({
            syncToken: after.syncToken,
            resourceTypes: ['notes'],
            commands: [command('note_add', { itemId: ids.t_review, content: 'the chart', fileAttachment: attachment }, 'n_chart')],
        })
        const chart = (noted.notes ?? []).find((n) => n.content === 'the chart')
        expect(step, chart?.fileAttachment?.fileUrl === upload.fileUrl && chart?.fileAttachment?.resourceType === 'image', 'comment attachment')
        expect(step, (await api.deleteUpload({ fileUrl: upload.fileUrl })) === true, 'deleteUpload')
        expect(step, (await fetch(upload.fileUrl, auth)).status === 404, 'a deleted upload still served')
        console.log(`ok   ${step}`)
        if (second) {
            await twoAccounts(api, new TodoistApi(second, { baseUrl: backend.url, customFetch }), sync, ids, (name) => (step = name))
        } else {
            console.log('skip two accounts (pass --second-token with --url)')
        }
        await oauth(backend.url, customFetch, (name) => (step = name))
    } catch (error) {
        console.error(`FAIL ${step}`)
        console.error(error instanceof CheckFailed ? `  ${error.message}` : describe(error, lastBody))
        backend.stop()
        process.exit(1)
    }
    backend.stop()
    console.log('sdk_check: every response passed @doist/todoist-sdk validation')
}

// A second account of the same store: the invitation (a live notification), accepting it, the shared project with
// its tasks, comments, collaborators and memberships in the member's sync, an assignment across accounts, a change by
// the member in the owner's incremental sync, and the project gone from the member's reads once unshared.
async function twoAccounts(api, bea, sync, ids, at) {
    const beaSync = async (name, request) => {
        at(name)
        const response = await bea.sync(request)
        for (const [uuid, status] of Object.entries(response.syncStatus ?? {})) {
            expect(name, status === 'ok', `command ${uuid} failed: ${JSON.stringify(status)}`)
        }
        console.log(`ok   ${name}`)
        return response
    }
    const everyType = [...SYNC_RESOURCE_TYPES]
    const first = await beaSync('second account: full sync, its own user and Inbox', { syncToken: '*', resourceTypes: everyType })
    expect('second account', first.user.email === BEA && !(first.projects ?? []).some((p) => p.id === ids.p_work), 'not its own')
    const owner = await sync('owner shares a project with the second account', {
        syncToken: '*',
        resourceTypes: everyType,
        commands: [command('share_project', { projectId: ids.p_board, email: BEA })],
    })
    const invited = await beaSync('second account: the invitation as a live notification', {
        syncToken: first.syncToken,
        resourceTypes: everyType,
    })
    const invite = (invited.liveNotifications ?? []).find((n) => n.notificationType === 'share_invitation_sent')
    expect('invitation', invite && invite.invitationId && invite.invitationSecret && invite.projectId === ids.p_board, 'no invitation')
    const joined = await beaSync('second account: accept_invitation, then the shared project, tasks, collaborators', {
        syncToken: invited.syncToken,
        resourceTypes: everyType,
        commands: [command('accept_invitation', { invitationId: invite.invitationId, invitationSecret: invite.invitationSecret })],
    })
    expect('accepted', (joined.projects ?? []).some((p) => p.id === ids.p_board && p.isShared), 'shared project missing')
    expect('accepted', (joined.items ?? []).some((i) => i.projectId === ids.p_board), 'tasks of the shared project missing')
    expect('accepted', (joined.collaborators ?? []).length === 1 && (joined.collaboratorStates ?? []).length === 2, 'members')
    const beaId = joined.user.id
    const task = (joined.items ?? []).find((i) => i.projectId === ids.p_board)
    const assigned = await sync('owner assigns a task of the shared project to the second account', {
        syncToken: owner.syncToken,
        resourceTypes: everyType,
        commands: [command('item_update', { id: task.id, responsibleUid: beaId })],
    })
    expect('assigned', (assigned.collaborators ?? []).some((c) => c.id === beaId && c.email === BEA), 'collaborator missing')
    const heard = (assigned.liveNotifications ?? []).some((n) => n.notificationType === 'share_invitation_accepted')
    expect('assigned', heard, 'the owner was not told the invitation was accepted')
    const done = await beaSync('second account completes it, comments, marks its notifications read', {
        syncToken: joined.syncToken,
        resourceTypes: everyType,
        commands: [
            command('item_close', { id: task.id }),
            command('note_add', { itemId: task.id, content: 'done by Bea' }),
            command('live_notifications_mark_read_all', {}),
        ],
    })
    const told = (done.liveNotifications ?? []).find((n) => n.notificationType === 'item_assigned')
    expect('assigned', told && told.itemId === task.id && told.responsibleUid === beaId, 'no item_assigned notification')
    const seen = await sync("the member's changes in the owner's incremental sync", {
        syncToken: assigned.syncToken,
        resourceTypes: everyType,
    })
    expect('incremental', (seen.items ?? []).some((i) => i.id === task.id && i.checked && i.responsibleUid === beaId), 'not completed')
    expect('incremental', (seen.notes ?? []).some((n) => n.content === 'done by Bea' && n.postedUid === beaId), 'no comment')
    at("REST activity log: the member's changes by initiator_id")
    const byBea = await api.getActivityLogs({ initiatorId: beaId })
    expect('initiator', byBea.results.length >= 2 && byBea.results.every((e) => e.initiatorId === beaId), 'not by Bea')
    console.log("ok   REST activity log: the member's changes by initiator_id")
    const unshared = await sync('owner unshares the project', {
        syncToken: seen.syncToken,
        resourceTypes: everyType,
        commands: [
            command('delete_collaborator', { projectId: ids.p_board, email: BEA }),
            command('share_project', { projectId: ids.p_clients, email: BEA }),
        ],
    })
    const pending = await beaSync('second account: a second invitation', { syncToken: '*', resourceTypes: ['live_notifications'] })
    const second = (pending.liveNotifications ?? []).find((n) => n.projectId === ids.p_clients && n.state === 'invited')
    await sync('owner withdraws it (delete_invitation)', {
        syncToken: unshared.syncToken,
        resourceTypes: everyType,
        commands: [command('delete_invitation', { invitationId: second.invitationId })],
    })
    const left = await beaSync('second account: the project gone from its reads', { syncToken: done.syncToken, resourceTypes: everyType })
    expect('unshared', !(left.projects ?? []).some((p) => p.id === ids.p_board) && (left.collaborators ?? []).length === 0, 'still there')
}

// local-api's stand-in for Todoist's authorization server, driven by the SDK's own OAuth helpers: registration,
// the code exchange (with PKCE, which the stand-in requires and the SDK's authorization URL leaves to the caller),
// a Sync request with the token, refresh, revocation, and the revoked token refused.
async function oauth(baseUrl, customFetch, at) {
    const options = { baseUrl, customFetch }
    const redirectUri = 'http://127.0.0.1:9/callback'
    at('OAuth: registerClient')
    const client = await registerClient(
        {
            clientName: 'sdk_check',
            redirectUris: [redirectUri],
            grantTypes: ['authorization_code', 'refresh_token'],
            tokenEndpointAuthMethod: 'client_secret_post',
            scope: ['data:read_write', 'data:delete'],
        },
        options,
    )
    expect('OAuth: registerClient', client.clientId.startsWith('tdd_') && client.clientSecret, 'no client id or secret')
    console.log('ok   OAuth: registerClient')
    at('OAuth: authorize and consent')
    const verifier = randomBytes(32).toString('base64url')
    const challenge = createHash('sha256').update(verifier).digest('base64url')
    const state = randomUUID()
    const url =
        getAuthorizationUrl({ clientId: client.clientId, permissions: ['data:read_write'], state, baseUrl }) +
        `&redirect_uri=${encodeURIComponent(redirectUri)}&code_challenge=${challenge}&code_challenge_method=S256`
    const page = await (await fetch(url)).text()
    const ticket = /name='ticket' value='([^']+)'/.exec(page)
    expect('OAuth: authorize and consent', ticket, 'no consent form')
    const consent = await fetch(new URL('/oauth/authorize', baseUrl), {
        method: 'POST',
        body: new URLSearchParams({ ticket: ticket[1], decision: 'allow' }),
        redirect: 'manual',
    })
    const back = new URL(consent.headers.get('location'))
    expect('OAuth: authorize and consent', back.searchParams.get('state') === state, 'state not returned')
    console.log('ok   OAuth: authorize and consent')
    at('OAuth: getAuthToken')
    const args = { clientId: client.clientId, clientSecret: client.clientSecret }
    const tokens = await getAuthToken(
        { ...args, code: back.searchParams.get('code'), codeVerifier: verifier, redirectUri },
        options,
    )
    expect('OAuth: getAuthToken', tokens.accessToken && tokens.refreshToken, 'no access or refresh token')
    await new TodoistApi(tokens.accessToken, options).sync({ syncToken: '*', resourceTypes: ['user'] })
    console.log('ok   OAuth: getAuthToken, and a Sync request with the token')
    at('OAuth: refreshAuthToken')
    const renewed = await refreshAuthToken({ ...args, refreshToken: tokens.refreshToken }, options)
    expect('OAuth: refreshAuthToken', renewed.accessToken !== tokens.accessToken, 'the access token was not renewed')
    console.log('ok   OAuth: refreshAuthToken')
    at('OAuth: revokeToken')
    expect('OAuth: revokeToken', await revokeToken({ ...args, token: renewed.accessToken }, options), 'not revoked')
    const refused = await fetch(new URL('/api/v1/sync', baseUrl), {
        method: 'POST',
        headers: { authorization: `Bearer ${renewed.accessToken}` },
    })
    expect('OAuth: revokeToken', refused.status === 401, `a revoked token was answered ${refused.status}`)
    console.log('ok   OAuth: revokeToken, and the revoked token is refused')
}

await main()
