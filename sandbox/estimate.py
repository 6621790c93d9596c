"""Re-export of :class:`models.estimate.Estimate`, where the type now lives."""
from models.estimate import Estimate

__all__ = ["Estimate"]
