"""The caller connection's writes of one event-loop turn go out as one send, in order, and a close sends what
is held first (knoxcall/lib/http_protocol.py CoalescedWrites), checked on a real socket pair."""

import asyncio
import socket

from knoxcall.lib.http_protocol import CoalescedWrites


class Recording(asyncio.Protocol):
    def __init__(self) -> None:
        self.transport = None

    def connection_made(self, transport) -> None:
        self.transport = transport


def run(scenario):
    """scenario(wrapped transport, list of the real transport's writes, loop) -> what the peer read."""

    async def main():
        loop = asyncio.get_running_loop()
        ours, peer = socket.socketpair()
        transport, _ = await loop.connect_accepted_socket(Recording, ours)
        sent: list[bytes] = []
        real_write = transport.write
        transport.write = lambda data: (sent.append(data), real_write(data))[1]
        await scenario(CoalescedWrites(transport, loop), loop)
        await asyncio.sleep(0.05)
        peer.setblocking(False)
        try:
            received = peer.recv(65536)
        except BlockingIOError:
            received = b""
        peer.close()
        return sent, received

    return asyncio.run(main())


def test_writes_of_one_turn_go_out_as_one_send_in_order():
    async def scenario(wrapped, loop):
        wrapped.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n")
        wrapped.write(b"ok")
        await asyncio.sleep(0)  # the next turn of the loop

    sent, received = run(scenario)

    assert sent == [b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok"]
    assert received == sent[0]


def test_writes_of_later_turns_are_not_held_back():
    async def scenario(wrapped, loop):
        wrapped.write(b"first")
        await asyncio.sleep(0)
        wrapped.write(b"second")
        await asyncio.sleep(0)

    sent, received = run(scenario)

    assert sent == [b"first", b"second"]
    assert received == b"firstsecond"


def test_a_close_sends_what_is_held_first_and_an_abort_drops_it():
    async def closing(wrapped, loop):
        wrapped.write(b"last words")
        wrapped.close()

    async def aborting(wrapped, loop):
        wrapped.write(b"never sent")
        wrapped.abort()

    assert run(closing) == ([b"last words"], b"last words")
    assert run(aborting) == ([], b"")


def test_everything_but_writing_is_the_transports_own():
    async def scenario(wrapped, loop):
        assert wrapped.get_extra_info("socket") is not None
        assert wrapped.is_closing() is False
        wrapped.write(b"abc")
        assert wrapped.get_write_buffer_size() == 3  # held, so still counted against back-pressure

    run(scenario)
