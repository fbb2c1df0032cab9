#!/usr/bin/python3
"""The test application of the nesting experiment (the paper's section V):
a web application that selects 10 rows from a relational database, turns
them into objects and fills an HTML template with them.  The paper used
Django on MySQL behind nginx; this is the same work with Python's standard
library only (sqlite3, string.Template, http.server), behind the same nginx.

    app.py --init-db FILE            create the database (10,000 items)
    app.py --db FILE --port P [--workers N]   serve on 127.0.0.1:P

Workers are processes that share one listening socket (so both cores of a
level are used despite the GIL); each serves nginx's keep-alive upstream
connections with a thread per connection."""
import argparse
import html
import os
import random
import signal
import socket
import sqlite3
import sys
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from string import Template

ITEMS = 10000
CATEGORIES = ["compute", "storage", "network", "database", "queue", "cache", "gpu", "backup"]

PAGE = Template("""<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>$title</title></head>
<body>
<h1>$title</h1>
<p>Offers $first to $last of $total, level $level.</p>
<table>
<thead><tr><th>#</th><th>Name</th><th>Category</th><th>Price</th><th>Stock</th><th>Description</th></tr></thead>
<tbody>
$rows</tbody>
</table>
</body>
</html>
""")
ROW = Template("<tr><td>$id</td><td>$name</td><td>$category</td><td>$price</td>"
               "<td>$stock</td><td>$description</td></tr>\n")


@dataclass
class Offer:
    """One row of the offer table, as an object (the paper's ORM step)."""
    id: int
    name: str
    category: str
    price: float
    stock: int
    description: str

    @classmethod
    def from_row(cls, row):
        return cls(*row)

    def render(self):
        return ROW.substitute(id=self.id, name=html.escape(self.name),
                              category=html.escape(self.category),
                              price=f"{self.price:.2f}", stock=self.stock,
                              description=html.escape(self.description))


def init_db(path):
    """Creates the database with deterministic contents, so every level
    serves the same bytes."""
    if os.path.exists(path):
        os.unlink(path)
    rnd = random.Random(5)
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE offer (id INTEGER PRIMARY KEY, name TEXT NOT NULL, "
               "category TEXT NOT NULL, price REAL NOT NULL, stock INTEGER NOT NULL, "
               "description TEXT NOT NULL)")
    rows = []
    for i in range(1, ITEMS + 1):
        cat = rnd.choice(CATEGORIES)
        words = " ".join(rnd.choice(["fast", "small", "large", "spot", "reserved", "nested",
                                     "vm", "<burst>", "&", "ssd", "hdd", "zone-a", "zone-b"])
                         for _ in range(12))
        rows.append((i, f"{cat}-offer-{i:05d}", cat, round(rnd.uniform(0.01, 9.99), 2),
                     rnd.randrange(0, 1000), words))
    db.executemany("INSERT INTO offer VALUES (?, ?, ?, ?, ?, ?)", rows)
    db.commit()
    db.close()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"   # keep-alive with nginx's upstream pool
    server_version = "nc-bench-app"
    # headers and body go out in two writes; without TCP_NODELAY, Nagle and
    # nginx's delayed ACK add 40 ms to every response
    disable_nagle_algorithm = True
    local = threading.local()

    def db(self):
        conn = getattr(self.local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(f"file:{self.server.db_path}?mode=ro", uri=True)
            self.local.conn = conn
        return conn

    def do_GET(self):
        if self.path == "/health":
            return self.reply(200, b"ok\n", "text/plain")
        if not (self.path == "/" or self.path.startswith("/offers")):
            return self.reply(404, b"not found\n", "text/plain")
        first = random.randrange(1, ITEMS - 9)
        cur = self.db().execute(
            "SELECT id, name, category, price, stock, description FROM offer "
            "WHERE id >= ? ORDER BY id LIMIT 10", (first,))
        offers = [Offer.from_row(r) for r in cur.fetchall()]
        body = PAGE.substitute(title="Nested Cloud offers", first=offers[0].id,
                               last=offers[-1].id, total=ITEMS,
                               level=html.escape(self.server.level),
                               rows="".join(o.render() for o in offers))
        self.reply(200, body.encode(), "text/html; charset=utf-8")

    def reply(self, status, body, ctype):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, fmt, *args):
        pass


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024


def serve(args):
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", args.port))
    sock.listen(1024)
    children = []
    for _ in range(args.workers):
        pid = os.fork()
        if pid == 0:
            srv = Server(("127.0.0.1", args.port), Handler, bind_and_activate=False)
            srv.socket.close()
            srv.socket = sock
            srv.server_name, srv.server_port = "127.0.0.1", args.port
            srv.db_path = args.db
            srv.level = args.level
            srv.serve_forever()
            os._exit(0)
        children.append(pid)

    def stop(*_):
        for pid in children:
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        sys.exit(0)
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    while children:
        pid, _ = os.wait()
        children.remove(pid)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--init-db")
    ap.add_argument("--db")
    ap.add_argument("--port", type=int, default=8081)
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--level", default=os.environ.get("NC_BENCH_LEVEL", "?"))
    args = ap.parse_args()
    if args.init_db:
        init_db(args.init_db)
        return
    if not args.db:
        ap.error("--db is required")
    serve(args)


if __name__ == "__main__":
    main()
