"""The data-sharing policy: model, vocabulary, YAML source, schema, checks, loader, activation."""
