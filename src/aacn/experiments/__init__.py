"""Experiments that run many trainings: ``aacn compare`` (the orchestration: runs, resumes, the report)."""

from ..utils.extras import require_extra

require_extra("train", "aacn compare")
require_extra("report", "aacn compare (its curves.png)")
