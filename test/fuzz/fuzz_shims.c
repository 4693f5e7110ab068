/*
 * fuzz_shims.c
 *		Functions src/ calls that the frontend libpgcommon.a lacks.
 *
 * json_errdetail(): PostgreSQL 15 builds it into the server only (Debian's
 * libpgcommon.a has no such symbol), but src/json.c calls it when a file is
 * not valid JSON.  This stand-in says the same things as the server's,
 * without quoting the offending token.  It is weak, so a libpgcommon that
 * does define the function wins.
 */
#include "postgres_fe.h"

#include "common/jsonapi.h"

__attribute__((weak)) char *
json_errdetail(JsonParseErrorType error, JsonLexContext *lex)
{
	(void) lex;
	switch (error)
	{
		case JSON_SUCCESS:
			break;
		case JSON_ESCAPING_INVALID:
			return pstrdup("Escape sequence is invalid.");
		case JSON_ESCAPING_REQUIRED:
			return pstrdup("A character must be escaped.");
		case JSON_EXPECTED_ARRAY_FIRST:
			return pstrdup("Expected array element or \"]\".");
		case JSON_EXPECTED_ARRAY_NEXT:
			return pstrdup("Expected \",\" or \"]\".");
		case JSON_EXPECTED_COLON:
			return pstrdup("Expected \":\".");
		case JSON_EXPECTED_END:
			return pstrdup("Expected end of input.");
		case JSON_EXPECTED_JSON:
			return pstrdup("Expected JSON value.");
		case JSON_EXPECTED_MORE:
			return pstrdup("The input string ended unexpectedly.");
		case JSON_EXPECTED_OBJECT_FIRST:
			return pstrdup("Expected string or \"}\".");
		case JSON_EXPECTED_OBJECT_NEXT:
			return pstrdup("Expected \",\" or \"}\".");
		case JSON_EXPECTED_STRING:
			return pstrdup("Expected string.");
		case JSON_INVALID_TOKEN:
			return pstrdup("Token is invalid.");
		case JSON_UNICODE_CODE_POINT_ZERO:
			return pstrdup("\\u0000 cannot be converted to text.");
		case JSON_UNICODE_ESCAPE_FORMAT:
			return pstrdup("\"\\u\" must be followed by four hexadecimal digits.");
		case JSON_UNICODE_HIGH_ESCAPE:
			return pstrdup("Unicode escape values cannot be used for code point values above 007F when the encoding is not UTF8.");
		case JSON_UNICODE_HIGH_SURROGATE:
			return pstrdup("Unicode high surrogate must not follow a high surrogate.");
		case JSON_UNICODE_LOW_SURROGATE:
			return pstrdup("Unicode low surrogate must follow a high surrogate.");
	}
	return psprintf("unexpected json parse error type: %d", (int) error);
}
