"""Text normalisation, the sentence encoder, vector cache, dense and lexical indexes, hybrid retrieval."""
