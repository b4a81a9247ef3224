"""Sources yield sightings: media plus where and when it was seen."""

from haechi.sources.base import Sighting, Source, SourceProblem
from haechi.sources.chat import ChatMedia, ChatMessage, ChatRoom
from haechi.sources.registry import SourceRegistry, load_registry

__all__ = [
    "ChatMedia",
    "ChatMessage",
    "ChatRoom",
    "Sighting",
    "Source",
    "SourceProblem",
    "SourceRegistry",
    "load_registry",
]
