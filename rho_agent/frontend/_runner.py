"""Where agent work runs in a kernel: a private event loop in a daemon thread.

The kernel's own loop is busy while a cell executes and must not be patched (no
`nest_asyncio`), so the extension owns one loop of its own. A cell submits a coroutine and
either waits for it (`Job.wait`: a kernel interrupt becomes a cancel, and the job's cleanup
is awaited before the interrupt goes on) or returns at once (`--background`). A cell that
awaits (`await job`) waits on the kernel's loop; when that cell is cancelled (a kernel
interrupt cancels an awaiting cell) the job is cancelled too, and its cleanup awaited.

Jobs run in a copy of the submitting cell's context, so output they publish is attributed
to that cell. A job can ask for something to run on the kernel's main thread while a cell
waits for it (`await job.on_main_thread(fn)`; used for `input()` prompts).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import queue
import threading
import time
from collections.abc import Callable, Coroutine
from typing import Any, Generic, TypeVar

T = TypeVar("T")

#: How long `Job.wait` waits for a cancelled job to clean up (delete a sandbox…) after an interrupt.
CLEANUP_TIMEOUT = 60.0


class Interrupted(KeyboardInterrupt):
    """A KeyboardInterrupt that stopped a job, raised once the job's cleanup is done.

    IPython shows it as one line (`_render_traceback_`), not a traceback."""

    def _render_traceback_(self) -> list[str]:
        return [f"\x1b[0;31mInterrupted:\x1b[0m {self}"]


class Runner:
    """An asyncio loop in a daemon thread, started on first use."""

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None or self._loop.is_closed():
                ready = threading.Event()
                loop = asyncio.new_event_loop()

                def serve() -> None:
                    asyncio.set_event_loop(loop)
                    loop.call_soon(ready.set)
                    loop.run_forever()

                self._thread = threading.Thread(target=serve, name="rho-agent-runner", daemon=True)
                self._thread.start()
                ready.wait()
                self._loop = loop
            return self._loop

    @property
    def running(self) -> bool:
        return self._loop is not None and self._loop.is_running()

    def submit(
        self, work: Coroutine[Any, Any, T] | Callable[[Job[T]], Coroutine[Any, Any, T]]
    ) -> Job[T]:
        """Start a coroutine on the runner loop; returns at once.

        `work` is a coroutine, or a function that makes one from its Job (for work that
        calls `job.on_main_thread`).
        """
        return Job(self.loop, work, contextvars.copy_context())

    def run(self, coro: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        """Submit and block until done (an interrupt cancels it). Not from the runner thread."""
        if self.in_runner_thread():
            coro.close()
            raise RuntimeError(
                "Runner.run() would deadlock on the runner thread; await the coroutine instead"
            )
        return self.submit(coro).wait(timeout=timeout)

    def call(self, fn: Callable[..., Any], *args: Any) -> None:
        """Call `fn(*args)` on the runner loop's thread, soon."""
        self.loop.call_soon_threadsafe(fn, *args)

    def in_runner_thread(self) -> bool:
        return self._thread is not None and threading.current_thread() is self._thread

    def stop(self, coro: Coroutine[Any, Any, Any] | None = None, timeout: float = 30.0) -> None:
        """Run `coro` (cleanup), cancel what is left, then stop the loop and its thread."""
        if self._loop is None or self._loop.is_closed():
            if coro is not None:
                coro.close()
            return
        loop, thread = self._loop, self._thread
        try:
            asyncio.run_coroutine_threadsafe(_wind_down(coro), loop).result(timeout)
        except (concurrent.futures.TimeoutError, Exception):  # shutting down: best effort
            pass
        loop.call_soon_threadsafe(loop.stop)
        if thread is not None:
            thread.join(timeout=5)
        if not loop.is_running():
            loop.close()
        self._loop = None


async def _wind_down(coro: Coroutine[Any, Any, Any] | None) -> None:
    if coro is not None:
        try:
            await coro
        except Exception:  # keep stopping
            pass
    for _round in range(3):  # callbacks already scheduled may still start tasks
        await asyncio.sleep(0)
        others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        if not others:
            break
        for task in others:
            task.cancel()
        await asyncio.wait(others, timeout=5)


class Job(Generic[T]):
    """A coroutine running on the runner: wait for it, await it, or cancel it from any thread."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        work: Coroutine[Any, Any, T] | Callable[[Job[T]], Coroutine[Any, Any, T]],
        context: contextvars.Context,
    ) -> None:
        self._loop = loop
        self._future: concurrent.futures.Future[T] = concurrent.futures.Future()
        self._task: asyncio.Task[T] | None = None
        self._cancel_requested = False
        self._requests: queue.Queue[tuple[Callable[[], Any], asyncio.Future[Any]]] = queue.Queue()
        coro = work if asyncio.iscoroutine(work) else work(self)  # type: ignore[operator]
        loop.call_soon_threadsafe(self._start, coro, context)

    def _start(self, coro: Coroutine[Any, Any, T], context: contextvars.Context) -> None:
        self._task = self._loop.create_task(coro, context=context)
        self._task.add_done_callback(self._finish)
        if self._cancel_requested:
            self._task.cancel()

    def _finish(self, task: asyncio.Task[T]) -> None:
        if self._future.done():  # only this settles it; never twice
            return
        if task.cancelled():
            self._future.cancel()
        elif task.exception() is not None:
            self._future.set_exception(task.exception())  # type: ignore[arg-type]
        else:
            self._future.set_result(task.result())

    # ----------------------------------------------------------------- from any thread

    def cancel(self) -> None:
        """Cancel the coroutine (it still runs its cleanup). Safe to call more than once."""

        def cancel() -> None:
            if self._cancel_requested:
                return  # once: a second cancel would interrupt the job's cleanup
            self._cancel_requested = True
            if self._task is not None:
                self._task.cancel()

        if not self._loop.is_closed():
            self._loop.call_soon_threadsafe(cancel)

    def done(self) -> bool:
        return self._future.done()

    def cancelled(self) -> bool:
        return self._future.cancelled()

    def result(self, timeout: float | None = None) -> T:
        return self._future.result(timeout)

    def add_done_callback(self, fn: Callable[[Job[T]], Any]) -> None:
        """Call `fn(job)` when the job ends (in the thread that ends it)."""
        self._future.add_done_callback(lambda _: fn(self))

    def __await__(self) -> Any:
        return self._await().__await__()

    async def _await(self) -> T:
        """The result, awaited from any loop. Cancelling the awaiting task cancels the job
        and waits (up to CLEANUP_TIMEOUT; a second cancel stops waiting) for its cleanup.

        `asyncio.wrap_future` would not do: cancelling it cannot stop a task on another loop.
        """
        try:
            await self._ended()
        except asyncio.CancelledError:
            self.cancel()
            try:
                await asyncio.wait_for(self._ended(), CLEANUP_TIMEOUT)
            except (asyncio.CancelledError, TimeoutError):
                pass
            raise
        return self._future.result()

    def _ended(self) -> asyncio.Future[None]:
        """A future of the calling loop, done when the job is."""
        loop = asyncio.get_running_loop()
        ended: asyncio.Future[None] = loop.create_future()

        def wake(_: object) -> None:
            if not loop.is_closed():
                loop.call_soon_threadsafe(_settle, ended, None, None)

        self._future.add_done_callback(wake)
        return ended

    def wait(self, timeout: float | None = None) -> T:
        """Block the calling (kernel) thread until the job ends, and return its result.

        Runs what the job asks to run on this thread meanwhile. A KeyboardInterrupt cancels
        the job, waits for its cleanup (a second interrupt stops waiting), and is re-raised.
        """
        try:
            return self._wait(timeout)
        except KeyboardInterrupt:
            self.cancel()
            try:
                self._wait(CLEANUP_TIMEOUT)
            except BaseException:
                pass
            raise

    def _wait(self, timeout: float | None) -> T:
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            try:
                fn, answer = self._requests.get_nowait()
            except queue.Empty:
                pass
            else:
                self._answer(fn, answer)
                continue
            try:
                return self._future.result(timeout=0.05)
            except concurrent.futures.TimeoutError:
                if deadline is not None and time.monotonic() > deadline:
                    raise TimeoutError(f"the job did not finish within {timeout:.0f}s") from None

    def _answer(self, fn: Callable[[], Any], answer: asyncio.Future[Any]) -> None:
        try:
            value = fn()
        except BaseException as exc:
            self._loop.call_soon_threadsafe(_settle, answer, None, exc)
            if isinstance(exc, KeyboardInterrupt):
                raise
        else:
            self._loop.call_soon_threadsafe(_settle, answer, value, None)

    # ----------------------------------------------------------------- from the job itself

    async def on_main_thread(self, fn: Callable[[], Any]) -> Any:
        """Run `fn` on the thread that waits for this job (`wait()`) and return its result.

        Only for jobs a cell waits for: a background job's request would never be served.
        """
        answer: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._requests.put((fn, answer))
        return await answer


def _settle(future: asyncio.Future[Any], value: Any, exc: BaseException | None) -> None:
    if future.done():
        return
    if exc is not None:
        future.set_exception(exc if isinstance(exc, Exception) else RuntimeError(repr(exc)))
    else:
        future.set_result(value)
