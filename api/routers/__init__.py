"""One router per resource: match lists, firm lists, stored entities and runs, administration."""
