import asyncio

from fraudwall.resolver.dns.eager import run_eagerly


async def immediate():
    return "now"


async def later(future):
    return await future


async def failing():
    raise ValueError("boom")


def test_a_coroutine_that_never_waits_finishes_without_a_task():
    async def main():
        results, tasks = [], set()
        run_eagerly(immediate(), results.append, results.append, tasks)
        assert results == ["now"] and not tasks

    asyncio.run(main())


def test_a_coroutine_that_waits_finishes_later_through_a_task():
    async def main():
        results, tasks = [], set()
        future = asyncio.get_running_loop().create_future()
        run_eagerly(later(future), results.append, results.append, tasks)
        assert results == [] and len(tasks) == 1
        future.set_result("later")
        await asyncio.sleep(0.01)
        assert results == ["later"] and not tasks

    asyncio.run(main())


def test_errors_reach_the_error_callback_now_and_later():
    async def main():
        errors, tasks = [], set()
        run_eagerly(failing(), errors.append, errors.append, tasks)
        future = asyncio.get_running_loop().create_future()
        run_eagerly(later(future), errors.append, errors.append, tasks)
        future.set_exception(KeyError("late"))
        await asyncio.sleep(0.01)
        assert [type(error) for error in errors] == [ValueError, KeyError]

    asyncio.run(main())


def test_cancelling_the_task_reaches_the_coroutine():
    seen = []

    async def waits(future):
        try:
            return await future
        except asyncio.CancelledError:
            seen.append("cancelled")
            raise

    async def main():
        tasks = set()
        future = asyncio.get_running_loop().create_future()
        run_eagerly(waits(future), seen.append, seen.append, tasks)
        for task in set(tasks):
            task.cancel()
        await asyncio.sleep(0.01)

    asyncio.run(main())
    assert seen == ["cancelled"]


def test_the_context_reaches_the_callbacks_before_the_result_now_and_later():
    async def main():
        seen, tasks = [], set()
        keep = lambda *values: seen.append(values)  # noqa: E731
        run_eagerly(immediate(), keep, keep, tasks, "query", 7)
        run_eagerly(failing(), keep, keep, tasks, "bad")
        future = asyncio.get_running_loop().create_future()
        run_eagerly(later(future), keep, keep, tasks, "slow")
        future.set_result("later")
        while tasks:
            await asyncio.sleep(0)
        assert seen[:2] == [("query", 7, "now"), ("bad", seen[1][1])] and isinstance(seen[1][1], ValueError)
        assert seen[2] == ("slow", "later")

    asyncio.run(main())
