"""`/v3/wsconnect`: the twilsock WebSocket on the REST port, binary frames only out."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from starlette.websockets import WebSocket, WebSocketDisconnect

from chinwag.realtime.connection import INIT_TIMEOUT, NORMAL, TRY_AGAIN, Closed, Session
from chinwag.realtime.framing import INTERNAL_ERROR, FrameError, decode
from chinwag.runtime import Runtime
from chinwag.sync.live import Hub

log = logging.getLogger("chinwag.realtime")


def _base(websocket: WebSocket, runtime: Runtime) -> str:
    """The http(s) root our links name: --public-url, else the WebSocket's own host."""
    if runtime.settings.public_url:
        return runtime.settings.public_url.rstrip("/")
    scheme = "https" if websocket.url.scheme == "wss" else "http"
    host = websocket.headers.get("host") or f"{runtime.settings.host}:{runtime.settings.port}"
    return f"{scheme}://{host}"


async def _write(websocket: WebSocket, session: Session) -> None:
    """Send queued frames until the session ends, then close with its code."""
    while True:
        frame = await session.outgoing.get()
        if frame is None or session.close_code == TRY_AGAIN:
            break
        await websocket.send_bytes(frame)
    with contextlib.suppress(RuntimeError, OSError):
        await websocket.close(session.close_code or NORMAL)


async def _read(websocket: WebSocket, session: Session) -> None:
    first = True
    while session.close_code is None:
        timeout = INIT_TIMEOUT if first else None
        message = await asyncio.wait_for(websocket.receive(), timeout)
        first = False
        if message["type"] == "websocket.disconnect":
            raise WebSocketDisconnect(message.get("code", NORMAL))
        data = message.get("bytes")
        if data is None:
            data = (message.get("text") or "").encode()
        await session.receive(decode(data))


async def wsconnect(websocket: WebSocket) -> None:
    runtime: Runtime = websocket.app.state.runtime
    hub: Hub = websocket.app.state.hub
    await websocket.accept()
    session = Session(runtime, hub, _base(websocket, runtime), websocket.app.state.presence)
    writer = asyncio.get_running_loop().create_task(_write(websocket, session))
    try:
        await _read(websocket, session)
    except FrameError as error:
        log.info("closing a connection on a bad frame: %s", error)
        session.end(error.close_code)
    except Closed as closed:
        session.end(closed.code)
    except TimeoutError:
        session.end(NORMAL)
    except WebSocketDisconnect:
        session.end(NORMAL)
        writer.cancel()
    except Exception:  # a fault of ours: this connection ends at once, the server goes on
        log.exception("closing a connection on an internal error")
        session.end(INTERNAL_ERROR)
    finally:
        await session.finish()
        with contextlib.suppress(
            asyncio.CancelledError, WebSocketDisconnect, RuntimeError, OSError
        ):
            await asyncio.wait_for(writer, 10)
