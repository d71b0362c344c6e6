// client.js: herd's websocket route seen by a real client (ws for node).
//
// Usage: node t/ws/client.js PORT
// Run by t/integration/test_websocket against a herd serving /ws/:room
// (max_message_size 1k). Exits 0 when every check passes, else prints
// what failed and exits 1. Each step has a deadline; the whole run 20 s.
'use strict';

const WebSocket = require('ws');

const port = process.argv[2];
if (!port) {
    console.error('usage: node client.js PORT');
    process.exit(2);
}
const base = `ws://127.0.0.1:${port}/ws/`;

setTimeout(() => {
    console.error('client.js: timed out');
    process.exit(1);
}, 20000).unref();

function open(room) {
    return new Promise((resolve, reject) => {
        const ws = new WebSocket(base + room);
        ws.once('open', () => resolve(ws));
        ws.once('error', reject);
    });
}

// The next event name on ws, with what it carried, within ms.
function next(ws, name, ms = 5000) {
    return new Promise((resolve, reject) => {
        const t = setTimeout(
            () => reject(new Error(`no ${name} within ${ms} ms`)), ms);
        ws.once(name, (...args) => {
            clearTimeout(t);
            resolve(args);
        });
    });
}

function check(ok, what) {
    if (!ok)
        throw new Error(what);
    console.log(`ok: ${what}`);
}

async function main() {
    const a = await open('node');
    const b = await open('node');

    // A text message reaches both clients of the room, sender included.
    const ga = next(a, 'message'), gb = next(b, 'message');
    a.send('hello from node');
    const [ma, binA] = await ga;
    const [mb, binB] = await gb;
    check(!binA && ma.toString() === 'hello from node', 'the sender got it');
    check(!binB && mb.toString() === 'hello from node', 'the other got it');

    // ping: a pong with the same payload.
    const pong = next(a, 'pong');
    a.ping(Buffer.from('node ping'));
    const [pd] = await pong;
    check(pd.toString() === 'node ping', 'pong with the ping\'s payload');

    // close 4000: herd echoes the code.
    const closed = next(a, 'close');
    a.close(4000, 'done');
    const [code] = await closed;
    check(code === 4000, `close 4000 echoed (got ${code})`);

    // A message over max_message_size (1k): 1009.
    const bClosed = next(b, 'close');
    b.send('x'.repeat(2000));
    const [bcode] = await bClosed;
    check(bcode === 1009, `oversize closed with 1009 (got ${bcode})`);
}

main().then(() => process.exit(0), (err) => {
    console.error(`client.js: ${err.message}`);
    process.exit(1);
});
