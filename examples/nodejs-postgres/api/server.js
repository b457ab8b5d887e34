// A small API: GET /health for the platform, GET / records a visit in
// PostgreSQL (DATABASE_URL, injected by hoist) and answers the latest ones.
'use strict';
const http = require('http');
const { Pool } = require('pg');

const pool = new Pool({ connectionString: process.env.DATABASE_URL, max: 5 });
let ready = null; // the table is created once, on first use

function ensureTable() {
  if (!ready) {
    ready = pool.query(
      'CREATE TABLE IF NOT EXISTS visits (id serial PRIMARY KEY, at timestamptz NOT NULL DEFAULT now(), path text NOT NULL)'
    ).catch((err) => { ready = null; throw err; });
  }
  return ready;
}

function send(res, status, body) {
  res.writeHead(status, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify(body) + '\n');
}

async function visits(req, res) {
  await ensureTable();
  const ins = await pool.query('INSERT INTO visits (path) VALUES ($1) RETURNING id', [req.url]);
  const rows = await pool.query('SELECT id, at, path FROM visits ORDER BY id DESC LIMIT 10');
  const total = await pool.query('SELECT count(*)::int AS n FROM visits');
  send(res, 200, { id: ins.rows[0].id, total: total.rows[0].n, latest: rows.rows, pid: process.pid });
}

const server = http.createServer((req, res) => {
  const path = req.url.split('?')[0];
  if (path === '/health') {
    send(res, 200, { status: 'ok' });
  } else if (path === '/' || path === '/visits') {
    visits(req, res).catch((err) => {
      console.error('database error:', err.message);
      send(res, 503, { error: 'database unavailable' });
    });
  } else {
    send(res, 404, { error: 'not found' });
  }
});

const port = Number(process.env.PORT || 3000);
// HOST: 127.0.0.1 on the local provider; unset (every interface) in a container.
server.listen(port, process.env.HOST || undefined, () => console.log(`api listening on port ${port}`));

function stop() {
  server.close(() => pool.end().then(() => process.exit(0)));
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
