"""Run machinery on top of the stores: workers, reruns and resumed runs.

Every backend implements one primitive, "claim a queued run atomically", in its own
transaction idiom (see :mod:`sacred.worker.claims`); the worker loop, reruns and
resume are backend-agnostic. Nothing here is imported by ``import sacred``.
"""
