import gc
import threading

from steward.sync.collector import BULK_YOUNG_THRESHOLD, paced_for_bulk_work


def test_bulk_work_collects_less_often_and_restores_the_pace_when_the_last_block_ends():
    before = gc.get_threshold()
    with paced_for_bulk_work():
        assert gc.get_threshold()[0] == max(before[0], BULK_YOUNG_THRESHOLD)
        assert gc.get_threshold()[1:] == before[1:]
        with paced_for_bulk_work():  # a second sync in another thread, say
            pass
        assert gc.get_threshold()[0] == max(before[0], BULK_YOUNG_THRESHOLD)
    assert gc.get_threshold() == before


def test_the_pace_is_restored_after_an_error_and_across_threads():
    before = gc.get_threshold()
    started, release = threading.Event(), threading.Event()

    def other() -> None:
        with paced_for_bulk_work():
            started.set()
            release.wait(5)

    thread = threading.Thread(target=other)
    thread.start()
    started.wait(5)
    try:
        with paced_for_bulk_work():
            raise RuntimeError("the sync failed")
    except RuntimeError:
        pass
    assert gc.get_threshold()[0] == max(before[0], BULK_YOUNG_THRESHOLD)  # the other thread's block still runs
    release.set()
    thread.join(5)
    assert gc.get_threshold() == before
