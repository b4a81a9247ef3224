"""Reports for people outside haechi: the police report package (police.py)."""
