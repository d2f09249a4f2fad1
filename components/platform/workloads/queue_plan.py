"""The queue plan lives with the config (components/config/queue_plan.py): the config checks
and the platform read the same numbers."""

from ...config.queue_plan import TeamQueuePlan, queue_plans, reserved_gpus, sum_quantities

__all__ = ["TeamQueuePlan", "queue_plans", "reserved_gpus", "sum_quantities"]
