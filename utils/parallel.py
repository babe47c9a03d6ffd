"""Process pools for the long data jobs (generation, curation).

Workers are started with the 'spawn' method: a forked child inherits OpenCV's thread pool in a broken state once
the parent has run a parallel OpenCV call, and then hangs (e.g. in cv2.setNumThreads). Spawned workers are fresh
interpreters; each runs single-threaded OpenCV, the parallelism coming from the processes.
"""

import multiprocessing
import os

import cv2


def single_threaded_opencv():
    """Worker initialiser: one OpenCV thread per process."""
    cv2.setNumThreads(1)


def imap_unordered(function, tasks, processes=None):
    """Yields function(task) for every task, in completion order, using up to `processes` spawned workers
    (None: all CPUs). With one process or one task it runs in this process, in order."""
    tasks = list(tasks)
    processes = min(processes or os.cpu_count() or 1, len(tasks))
    if processes <= 1:
        for task in tasks:
            yield function(task)
        return
    pool = multiprocessing.get_context('spawn').Pool(processes, initializer=single_threaded_opencv)
    try:
        for result in pool.imap_unordered(function, tasks):
            yield result
        pool.close()
    finally:
        pool.terminate()
        pool.join()
