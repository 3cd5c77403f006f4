"""Benchmark: FastAPI's GET /api/items (20 rows), sync sessions vs an async engine.

The two ways the FastAPI template could hold its SQLAlchemy session, each as a minimal app:
  sync:  `create_engine`, `def` endpoints and a `def` session dependency (FastAPI runs both in
         its thread pool), SQLite through sqlite3 and PostgreSQL through psycopg 3;
  async: `create_async_engine`, `async def` endpoints and an `AsyncSession` dependency, SQLite
         through aiosqlite and PostgreSQL through psycopg 3's asyncio mode (and asyncpg).
Each serves the same 20 rows with gunicorn's native `asgi` worker on 127.0.0.1; wrk measures
requests/s, all setups interleaved round by round, and the median is printed. The apps and
their venv run with bytecode compiled (`prepare_bytecode`).

    python benchmarks/fastapi_sessions.py [--postgresql URL] [--seconds 5] [--rounds 5]
        [--workers 2] [--connections 32]

The venv (fastapi, sqlalchemy, aiosqlite, psycopg, asyncpg, gunicorn) is made with uv (or
venv + pip) in a temporary directory. --postgresql names a database this run may fill: it
drops and recreates its `items` table; without it only SQLite is measured.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import serving  # noqa: E402
from _measure import prepare_bytecode  # noqa: E402
from serving import free_port, running, tcp_open, wait_until  # noqa: E402

LOG = Path("servers.log")  # replaced by the run's own
PACKAGES = [
    "fastapi>=0.115",
    "sqlalchemy[asyncio]>=2.0",  # greenlet: the async engine needs it
    "aiosqlite>=0.20",
    "psycopg[binary]>=3.2",
    "asyncpg>=0.29",
    "gunicorn>=27.0",
]

MODELS = """
from pydantic import BaseModel, ConfigDict
from sqlalchemy import String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class Item(Base):
    __tablename__ = "items"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(String(2000), default="")
    quantity: Mapped[int]


class ItemOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    description: str
    quantity: int
"""

SYNC_APP = """
import os
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import Depends, FastAPI, Request
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from bench_models import Item, ItemOut


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[dict]:
    engine = create_engine(os.environ["DATABASE_URL"])
    yield {"engine": engine}
    engine.dispose()


def get_session(request: Request) -> Iterator[Session]:
    with Session(request.state.engine) as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]
app = FastAPI(lifespan=lifespan)


@app.get("/api/items", response_model=list[ItemOut])
def list_items(session: SessionDep, offset: int = 0, limit: int = 20):
    return session.scalars(select(Item).order_by(Item.id).offset(offset).limit(limit)).all()
"""

ASYNC_APP = """
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import Depends, FastAPI, Request
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

from bench_models import Item, ItemOut


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[dict]:
    engine = create_async_engine(os.environ["DATABASE_URL"])
    yield {"sessions": async_sessionmaker(engine, expire_on_commit=False)}
    await engine.dispose()


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    async with request.state.sessions() as session:
        yield session


SessionDep = Annotated[AsyncSession, Depends(get_session)]
app = FastAPI(lifespan=lifespan)


@app.get("/api/items", response_model=list[ItemOut])
async def list_items(session: SessionDep, offset: int = 0, limit: int = 20):
    result = await session.scalars(select(Item).order_by(Item.id).offset(offset).limit(limit))
    return result.all()
"""

SEED = """
import sys

from sqlalchemy import create_engine, text

from bench_models import Base, Item

engine = create_engine(sys.argv[1])
with engine.begin() as connection:
    if connection.dialect.name == "sqlite":
        connection.execute(text("PRAGMA journal_mode=WAL"))
    Base.metadata.drop_all(connection)
    Base.metadata.create_all(connection)
    connection.execute(
        Item.__table__.insert(),
        [{"name": f"item {n}", "description": "x" * 40, "quantity": n} for n in range(20)],
    )
engine.dispose()
"""


def wrk(url: str, seconds: int, connections: int) -> float:
    """serving.wrk, saying what wrk printed when it fails."""
    try:
        return serving.wrk(url, seconds, connections)
    except subprocess.CalledProcessError as error:
        raise SystemExit(f"{error}\n{error.stdout}{error.stderr}\nsee {LOG}") from None


def make_venv(work: Path) -> Path:
    venv = work / "venv"
    python = venv / "bin" / "python"
    uv = shutil.which("uv")
    if uv:
        subprocess.run([uv, "venv", "-q", "--python", sys.executable, str(venv)], check=True)
        subprocess.run([uv, "pip", "install", "-q", "--python", str(python), *PACKAGES], check=True)
    else:
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", *PACKAGES], check=True)
    return python


def sqlalchemy_urls(postgresql: str | None, sqlite_file: Path) -> dict[str, tuple[str, str]]:
    """Setup name -> (app module, SQLAlchemy URL)."""
    sqlite = f"sqlite:///{sqlite_file}"
    setups = {
        "sqlite, sync sessions (sqlite3)": ("sync_app", sqlite),
        "sqlite, async engine (aiosqlite)": ("async_app", sqlite.replace(":", "+aiosqlite:", 1)),
    }
    if postgresql:
        rest = postgresql.split("://", 1)[1]
        setups |= {
            "postgresql, sync sessions (psycopg)": ("sync_app", f"postgresql+psycopg://{rest}"),
            "postgresql, async engine (psycopg)": ("async_app", f"postgresql+psycopg://{rest}"),
            "postgresql, async engine (asyncpg)": ("async_app", f"postgresql+asyncpg://{rest}"),
        }
    return setups


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--postgresql",
        help="a database URL this run may write, e.g. "
        "postgresql://postgres@127.0.0.1:55432/fastapi_bench",
    )
    parser.add_argument("--seconds", type=int, default=5, help="wrk duration per measurement")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers, every setup")
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed (apt-get install wrk)")

    work = Path(tempfile.mkdtemp(prefix="bench-fastapi-sessions-"))
    apps = work / "apps"
    apps.mkdir()
    for name, source in {
        "bench_models": MODELS,
        "sync_app": SYNC_APP,
        "async_app": ASYNC_APP,
        "seed": SEED,
    }.items():
        (apps / f"{name}.py").write_text(source)
    python = make_venv(work)
    bytecode = prepare_bytecode(python, extra=[apps])
    setups = sqlalchemy_urls(args.postgresql, work / "items.sqlite3")
    env = {**os.environ, "PYTHONPATH": str(apps)}
    seeded = set()
    for _, url in setups.values():
        sync_url = url.replace("+aiosqlite", "").replace("+asyncpg", "+psycopg")
        if sync_url not in seeded:
            subprocess.run([str(python), str(apps / "seed.py"), sync_url], env=env, check=True)
            seeded.add(sync_url)

    global LOG
    log = LOG = work / "servers.log"
    ports = {name: free_port() for name in setups}
    with ExitStack() as stack:
        for name, (module, url) in setups.items():
            argv = [str(python), "-m", "gunicorn", "-k", "asgi", "-w", str(args.workers)]
            argv += ["-b", f"127.0.0.1:{ports[name]}", f"{module}:app"]
            stack.enter_context(running(argv, apps, {**env, "DATABASE_URL": url}, log))
        for name in setups:
            wait_until(lambda p=ports[name]: tcp_open(p), name)
        time.sleep(1.0)  # workers import the app after the listener opens
        urls = {name: f"http://127.0.0.1:{ports[name]}/api/items" for name in setups}
        for url in urls.values():  # warm-up (pools fill), and a failure here fails fast
            wrk(url, 2, args.connections)
        rates: dict[str, list[float]] = {name: [] for name in setups}
        for _ in range(args.rounds):
            for name, url in urls.items():
                rates[name].append(wrk(url, args.seconds, args.connections))

    versions = subprocess.run(
        [
            str(python),
            "-c",
            "import fastapi, sqlalchemy, gunicorn; print(fastapi.__version__, "
            "sqlalchemy.__version__, gunicorn.__version__)",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    print(
        f"wrk -t2 -c{args.connections} -d{args.seconds}s, {args.rounds} rounds interleaved, "
        f"gunicorn -k asgi -w {args.workers}, {os.cpu_count()} CPUs; fastapi {versions[0]}, "
        f"sqlalchemy {versions[1]}, gunicorn {versions[2]}"
    )
    print(bytecode)
    print("| setup | median req/s | min | max | vs sync, same database |")
    print("| --- | ---: | ---: | ---: | ---: |")
    medians = {name: statistics.median(values) for name, values in rates.items()}
    for name, values in rates.items():
        database = name.split(",")[0]
        sync = next(n for n in medians if n.startswith(database) and "sync" in n)
        ratio = "ref" if name == sync else f"{medians[name] / medians[sync]:.2f}"
        print(f"| {name} | {medians[name]:.0f} | {min(values):.0f} | {max(values):.0f} | {ratio} |")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
