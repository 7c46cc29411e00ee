// A Node.js (18+) client of a BEAT node's API with fetch: submit, follow the commit stream,
// read back. An Express route that forwards to BEAT is the same submit call:
//
//   app.post('/orders', async (req, res) => {
//     const r = await fetch(`${BEAT}/v1/transactions`, { method: 'POST', headers, body:
//       JSON.stringify({ transactions: [JSON.stringify(req.body)] }) });
//     res.status(r.status).json(await r.json());
//   });
//
//   node client.mjs http://127.0.0.1:8080 <token> 'set node hello'
const [base, token, tx] = process.argv.slice(2);
const headers = { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' };

const sub = await fetch(`${base}/v1/transactions`, { method: 'POST', headers, body: JSON.stringify({ transactions: [tx] }) });
if (sub.status !== 202) throw new Error(`submit: ${sub.status} ${await sub.text()}`);
const { results: [{ id }] } = await sub.json();

// Follow the commit stream (Server-Sent Events) from epoch 0 until the id shows up.
const stream = await fetch(`${base}/v1/commits?from=0`, { headers });
const reader = stream.body.getReader();
const decoder = new TextDecoder();
let buffer = '', lastId = null, epoch = null;
while (epoch === null) {
  const { value, done } = await reader.read();
  if (done) throw new Error(`the stream ended before ${id} committed`);
  buffer += decoder.decode(value, { stream: true });
  let i;
  while ((i = buffer.indexOf('\n')) >= 0) {
    const line = buffer.slice(0, i); buffer = buffer.slice(i + 1);
    if (line.startsWith('id:')) lastId = line.slice(3).trim();
    if (line.startsWith('data:') && line.includes(id)) { epoch = lastId; break; }
  }
}
await reader.cancel();

const st = await (await fetch(`${base}/v1/transactions/${id}`, { headers })).json();
if (st.state !== 'committed') throw new Error(`state: ${JSON.stringify(st)}`);
console.log(`node: committed ${id} in epoch ${epoch}`);
