package io.tallyhouse.ingest.validation;

/** One validation problem: which event of the request, which field, what is wrong. */
public record FieldError(int index, String field, String message) {}
