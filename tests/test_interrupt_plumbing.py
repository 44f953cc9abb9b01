"""What a kernel interrupt relies on: a signal wakes the main loop; an awaited Job is cancelled
with its awaiter. (The kernel test in tests/notebook/test_nb_kernel.py presses ■ for real.)"""

from __future__ import annotations

import asyncio
import signal
import threading
import time

import pytest

from rho_agent._wakeup import SignalWakeup, loop_wakes_on_signals
from rho_agent.frontend._runner import Runner


def test_a_signal_delivered_to_another_thread_wakes_the_main_loop() -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        handled: asyncio.Future[int] = loop.create_future()

        ran = threading.Event()

        def handler(signum: int, frame: object) -> None:
            ran.set()
            loop.call_soon(handled.set_result, signum)

        previous = signal.signal(signal.SIGUSR1, handler)
        in_time: list[bool] = []
        try:
            with loop_wakes_on_signals():
                assert SignalWakeup.current is not None

                # The operating system may hand a signal to any thread; Python runs the
                # handler on the main thread, asleep in the loop meanwhile. Without the
                # wakeup the handler would run only when the loop next woke up (in 10 s).
                def send() -> None:
                    time.sleep(0.2)
                    signal.pthread_kill(threading.get_ident(), signal.SIGUSR1)
                    in_time.append(ran.wait(5))

                sender = threading.Thread(target=send)
                sender.start()
                assert await asyncio.wait_for(handled, 10) == signal.SIGUSR1
                await loop.run_in_executor(None, sender.join)
            assert in_time == [True]
            assert SignalWakeup.current is None
        finally:
            signal.signal(signal.SIGUSR1, previous)

    asyncio.run(main())


def test_cancelling_the_awaiter_of_a_job_cancels_the_job_after_its_cleanup() -> None:
    runner = Runner()
    cleaned = threading.Event()

    async def work() -> str:
        try:
            await asyncio.sleep(60)
        finally:
            await asyncio.sleep(0.1)  # cleanup takes a moment (deleting a sandbox…)
            cleaned.set()
        return "finished"

    async def main() -> None:
        job = runner.submit(work())

        async def cell() -> str:
            return await job

        waiter = asyncio.ensure_future(cell())
        await asyncio.sleep(0.1)
        waiter.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiter
        assert cleaned.is_set()  # the awaiter ended after the job's cleanup
        assert job.cancelled()

    try:
        asyncio.run(main())
    finally:
        runner.stop()
