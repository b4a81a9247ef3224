"""Sources yield sightings: media plus where and when it was seen."""

from haechi.sources.base import PAUSE, Pause, Sighting, Source, SourceProblem
from haechi.sources.chat import ChatMedia, ChatMessage, ChatRoom
from haechi.sources.registry import SourceRegistry, load_registry

__all__ = [
    "PAUSE",
    "ChatMedia",
    "ChatMessage",
    "ChatRoom",
    "Pause",
    "Sighting",
    "Source",
    "SourceProblem",
    "SourceRegistry",
    "load_registry",
]
