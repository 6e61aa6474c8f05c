"""Finding records by what people type: a fragment of a name, a short name, a typo, pinyin initials."""
