"""A small loopback TCP proxy between the services and a server, that can misbehave on command.

Modes (switched at any time, effective for bytes not yet forwarded):
  pass       forward as is
  latency    hold each chunk `delay_s` before forwarding it
  blackhole  accept and read, forward nothing (a cable pulled: peers hang until their timeouts)
`reset()` closes every open connection with an RST (SO_LINGER 0): what a middlebox restart looks like.

It runs on its own event loop in a daemon thread, so the synchronous supervisor can drive it.
"""
from __future__ import annotations

import asyncio
import socket
import struct
import threading
from dataclasses import dataclass, field


@dataclass
class FaultProxy:
    listen_port: int
    target_port: int
    host: str = "127.0.0.1"
    mode: str = "pass"
    delay_s: float = 0.0
    episodes: dict[str, int] = field(default_factory=lambda: {"latency": 0, "blackhole": 0, "reset": 0})
    _writers: set = field(default_factory=set)
    _loop: asyncio.AbstractEventLoop | None = None
    _server: asyncio.base_events.Server | None = None

    # ------------------------------------------------------------ control (any thread)

    def start(self) -> None:
        ready = threading.Event()

        def run() -> None:
            self._loop = asyncio.new_event_loop()
            self._server = self._loop.run_until_complete(
                asyncio.start_server(self._accept, self.host, self.listen_port, reuse_address=True))
            ready.set()
            self._loop.run_forever()

        threading.Thread(target=run, name=f"proxy-{self.listen_port}", daemon=True).start()
        if not ready.wait(10):
            raise RuntimeError(f"proxy on {self.listen_port} did not start")

    def set_mode(self, mode: str, delay_s: float = 0.0) -> None:
        if mode not in ("pass", "latency", "blackhole"):
            raise ValueError(mode)
        if mode != "pass":
            self.episodes[mode] += 1
        self.mode, self.delay_s = mode, delay_s

    def reset(self) -> None:
        self.episodes["reset"] += 1
        assert self._loop is not None
        self._loop.call_soon_threadsafe(self._reset_all)

    def stop(self) -> None:
        if self._loop is None:
            return
        def shutdown() -> None:
            self._reset_all()
            if self._server:
                self._server.close()
            self._loop.stop()
        self._loop.call_soon_threadsafe(shutdown)

    # ------------------------------------------------------------ the loop's side

    def _reset_all(self) -> None:
        for writer in list(self._writers):
            sock = writer.get_extra_info("socket")
            try:
                if sock is not None:
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                writer.transport.abort()
            except OSError:
                pass
        self._writers.clear()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(self.host, self.target_port)
        except OSError:
            writer.transport.abort()  # the server is down: refuse like it would
            return
        self._writers |= {writer, up_writer}
        # Either side closing (a killed process, a restarted server) closes both: neither protocol half-closes,
        # and a server left holding a dead client's connection would keep its transaction and locks.
        pipes = [asyncio.ensure_future(self._pipe(reader, up_writer)), asyncio.ensure_future(self._pipe(up_reader, writer))]
        await asyncio.wait(pipes, return_when=asyncio.FIRST_COMPLETED)
        for pipe in pipes:
            pipe.cancel()
        for w in (writer, up_writer):
            self._writers.discard(w)
            w.transport.abort()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while chunk := await reader.read(65536):
            while self.mode == "blackhole":
                await asyncio.sleep(0.05)  # swallow time, not bytes: they are delivered if the hole closes
            if self.mode == "latency" and self.delay_s:
                await asyncio.sleep(self.delay_s)
            writer.write(chunk)
            await writer.drain()
