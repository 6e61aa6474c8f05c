"""The match service: candidates -> features -> rank -> explain, for needs, enterprises, free text
and (reversed) for teams looking for firms."""
