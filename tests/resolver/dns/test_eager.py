import asyncio
import types

from fraudwall.resolver.dns.eager import InFlight, run_eagerly


async def immediate():
    return "now"


async def later(future):
    return await future


async def failing():
    raise ValueError("boom")


def test_a_coroutine_that_never_waits_finishes_without_a_task():
    async def main():
        results, tasks = [], InFlight()
        run_eagerly(immediate(), results.append, results.append, tasks)
        assert results == ["now"] and not tasks

    asyncio.run(main())


def test_a_coroutine_that_waits_is_in_flight_until_its_future_is_done():
    async def main():
        results, in_flight = [], InFlight()
        future = asyncio.get_running_loop().create_future()
        run_eagerly(later(future), results.append, results.append, in_flight)
        assert results == [] and len(in_flight) == 1
        future.set_result("later")
        await in_flight.settled(5)
        assert results == ["later"] and not in_flight

    asyncio.run(main())


@types.coroutine
def bare_yield():
    """What a zero-second sleep yields to the loop: None, not a future."""
    yield


def test_a_bare_yield_is_stepped_again_at_the_next_turn():
    async def yields_twice(future):
        await bare_yield()
        value = await future
        await bare_yield()
        return value

    async def main():
        results, in_flight = [], InFlight()
        future = asyncio.get_running_loop().create_future()
        run_eagerly(yields_twice(future), results.append, results.append, in_flight)
        future.set_result("after the yields")
        await in_flight.settled(5)
        assert results == ["after the yields"]

    asyncio.run(main())


def test_settled_returns_after_its_seconds_when_a_query_still_waits():
    async def main():
        loop = asyncio.get_running_loop()
        in_flight = InFlight()
        run_eagerly(later(loop.create_future()), print, print, in_flight)
        started = loop.time()
        await in_flight.settled(0.05)
        assert loop.time() - started >= 0.04 and len(in_flight) == 1

    asyncio.run(main())


def test_errors_reach_the_error_callback_now_and_later():
    async def main():
        errors, tasks = [], InFlight()
        run_eagerly(failing(), errors.append, errors.append, tasks)
        future = asyncio.get_running_loop().create_future()
        run_eagerly(later(future), errors.append, errors.append, tasks)
        future.set_exception(KeyError("late"))
        await tasks.settled(5)
        assert [type(error) for error in errors] == [ValueError, KeyError]

    asyncio.run(main())


def test_a_cancelled_wait_reaches_the_coroutine_and_ends_without_an_answer():
    seen = []

    async def waits(future):
        try:
            return await future
        except asyncio.CancelledError:
            seen.append("cancelled")
            raise

    async def main():
        in_flight = InFlight()
        future = asyncio.get_running_loop().create_future()
        run_eagerly(waits(future), seen.append, seen.append, in_flight)
        future.cancel()     # what the forwarder's close does to the exchanges still out
        await in_flight.settled(5)
        assert not in_flight

    asyncio.run(main())
    assert seen == ["cancelled"]


def test_the_context_reaches_the_callbacks_before_the_result_now_and_later():
    async def main():
        seen, tasks = [], InFlight()
        keep = lambda *values: seen.append(values)  # noqa: E731
        run_eagerly(immediate(), keep, keep, tasks, "query", 7)
        run_eagerly(failing(), keep, keep, tasks, "bad")
        future = asyncio.get_running_loop().create_future()
        run_eagerly(later(future), keep, keep, tasks, "slow")
        future.set_result("later")
        await tasks.settled(5)
        assert seen[:2] == [("query", 7, "now"), ("bad", seen[1][1])] and isinstance(seen[1][1], ValueError)
        assert seen[2] == ("slow", "later")

    asyncio.run(main())
