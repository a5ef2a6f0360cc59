/* SPDX-License-Identifier: ISC */
/*
 * json.h: JSON values for jmapd (RFC 8259 text, held to I-JSON, RFC 7493,
 * as RFC 8620 1.5 asks): a limited parser built on yajl's callback API,
 * a value tree with getters and builders, a compact writer, a streaming
 * writer that needs no tree, and JSON Pointer (RFC 6901) with JMAP's "*"
 * (RFC 8620 3.7).
 *
 * Ownership: arguments are borrowed unless the function name or comment
 * says "take".  A value inside an array or object is owned by it; getters
 * return borrowed pointers into the tree, valid until that container is
 * changed or freed.  Strings are byte strings with a length (they may hold
 * NUL); each string node also keeps a NUL after its bytes.  Member names
 * are C strings: the parser refuses a name holding U+0000.
 *
 * Objects keep their members in document (insertion) order.  Objects of
 * more than JSON_INDEX_MIN members also carry a sorted index for
 * json_get(), so lookups are O(log n) and duplicate detection while
 * parsing is O(n log n); smaller ones are scanned.
 */
#ifndef BULWARK_JSON_H
#define BULWARK_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct buf;
struct json;

enum json_type {
	JSON_NULL,
	JSON_BOOL,
	JSON_NUMBER,
	JSON_STRING,
	JSON_ARRAY,
	JSON_OBJECT
};

/* JMAP's Int and UnsignedInt bounds (RFC 8620 1.3): 2^53 - 1. */
#define JSON_INT_MAX	9007199254740991LL
#define JSON_INT_MIN	(-JSON_INT_MAX)

/* Objects with more members than this get a sorted index. */
#define JSON_INDEX_MIN	16

/*
 * Parser limits; each must be at least 1.  max_depth counts nested
 * arrays and objects (a scalar at top level is depth 0, "[]" depth 1);
 * max_nodes counts values (not member names); max_string is the largest
 * string or member name in bytes after unescaping, and also the longest
 * number literal.
 */
struct json_limits {
	size_t	max_depth;
	size_t	max_nodes;
	size_t	max_string;
};

/*
 * Parses the len bytes at p as one JSON text (RFC 8259 2) and stores a new
 * tree in *v_r (the caller frees it with json_free).  Refused, with -1 and
 * a short message "<what> at offset N" in err (errlen bytes, may be 0):
 * empty or blank input, syntax errors and trailing garbage (as yajl reports
 * them), invalid UTF-8 anywhere in a string (overlong forms, surrogates,
 * beyond U+10FFFF: checked here, stricter than yajl), \u escapes that are
 * lone or mismatched surrogates, a duplicate member name in an object, a
 * member name holding U+0000, a number beyond the range of a double, and
 * anything beyond lim.  The offset is the number of input bytes consumed
 * when the error was found: for a limit, the end of the value that broke
 * it; for bad UTF-8 or a bad escape, its first byte exactly.  On error
 * *v_r is NULL.
 */
int	 json_parse(const void *p, size_t len, const struct json_limits *lim,
	    struct json **v_r, char *err, size_t errlen);

/* Getters: v must not be NULL unless said. */
enum json_type json_type(const struct json *v);
/* Stores a boolean's value in *r and returns 0; -1 for other types. */
int	 json_bool(const struct json *v, bool *r);
/*
 * Stores the value of an integer number in *r and returns 0.  Returns -1
 * for other types, for numbers written with a fraction or exponent (and
 * json_new_double values), and outside JSON_INT_MIN..JSON_INT_MAX.
 */
int	 json_int(const struct json *v, int64_t *r);
/* Stores any number's value in *r (ints converted) and returns 0; -1 if
 * v is not a number. */
int	 json_double(const struct json *v, double *r);
/*
 * A string's bytes, NUL-terminated, with their count in *len_r (may be
 * NULL); NULL if v is not a string.  Borrowed from v.
 */
const char *json_str(const struct json *v, size_t *len_r);
/* Elements of an array or members of an object; 0 for other types. */
size_t	 json_len(const struct json *v);
/* Element i of an array (borrowed); NULL if not an array or i too big. */
struct json *json_at(const struct json *arr, size_t i);
/* The member called name (borrowed); NULL if absent or not an object. */
struct json *json_get(const struct json *obj, const char *name);
/*
 * Member i in document order (borrowed), its name in *name_r (borrowed,
 * may be NULL); NULL if not an object or i too big.
 */
struct json *json_member(const struct json *obj, size_t i,
	    const char **name_r);

/*
 * Builders: each returns a new value the caller owns; they cannot fail
 * (allocation failure ends the process).  json_new_str copies len bytes
 * at p, which the caller has made valid UTF-8 (json_utf8_valid); the
 * writer replaces invalid bytes with U+FFFD rather than write bad JSON.
 */
struct json *json_new_null(void);
struct json *json_new_bool(bool b);
struct json *json_new_int(int64_t i);
/* Non-finite doubles are kept but written as null. */
struct json *json_new_double(double d);
struct json *json_new_str(const void *p, size_t len);
struct json *json_new_strz(const char *s);
struct json *json_new_array(void);
struct json *json_new_object(void);
/* Appends v (taken) to the array arr. */
void	 json_array_add(struct json *arr, struct json *v);
/*
 * Sets member name (copied) of obj to v (taken); an existing member of
 * that name is freed and v takes its place in the order, otherwise v is
 * appended.
 */
void	 json_object_set(struct json *obj, const char *name,
	    struct json *v);
/*
 * Removes member name from obj and returns its value (now the caller's);
 * NULL if there is none.
 */
struct json *json_object_take(struct json *obj, const char *name);
/* Removes and frees member name; returns 0, or -1 if there is none. */
int	 json_object_del(struct json *obj, const char *name);
/* A deep copy of v, owned by the caller. */
struct json *json_dup(const struct json *v);
/* Frees *vp (and everything in it) and sets *vp to NULL; NULL is fine. */
void	 json_free(struct json **vp);

/*
 * Deep equality: same types and values; object members compared by name
 * whatever their order; numbers by value (int 1 equals double 1.0).
 */
bool	 json_equal(const struct json *a, const struct json *b);

/*
 * Appends v to out as compact JSON text: no whitespace, strings with only
 * '"', '\\' and controls escaped (\b \f \n \r \t, others \u00XX), other
 * UTF-8 as is (bytes that are not UTF-8 as U+FFFD), integers exactly,
 * doubles in the shortest of "%.15g", "%.16g", "%.17g" that reads back
 * the same (-0.0 as "-0.0", which reads back as a double), non-finite
 * doubles as null.
 */
void	 json_write(struct buf *out, const struct json *v);

/*
 * Writes JSON straight into a buffer without a tree; commas and colons
 * come by themselves.  In an object, call json_out_key before each value.
 * Nesting deeper than JSON_OUT_MAX_DEPTH, a value where a key is due (or
 * the reverse), and unbalanced ends are bugs: they end the process.
 * The text is complete once the top-level value is written.
 */
#define JSON_OUT_MAX_DEPTH	64

struct json_out {
	struct buf	*b;
	uint64_t	 first;	/* bit d: container at depth d is empty */
	uint64_t	 isobj;	/* bit d: container at depth d is object */
	unsigned int	 depth;	/* open containers */
	bool		 key;	/* a key was written, its value is due */
};

/* Starts writing into b (borrowed; must outlive o). */
void	 json_out_init(struct json_out *o, struct buf *b);
void	 json_out_begin_object(struct json_out *o);
void	 json_out_end_object(struct json_out *o);
void	 json_out_begin_array(struct json_out *o);
void	 json_out_end_array(struct json_out *o);
/* A member name (C string) in the open object. */
void	 json_out_key(struct json_out *o, const char *name);
void	 json_out_str(struct json_out *o, const void *p, size_t len);
void	 json_out_strz(struct json_out *o, const char *s);
void	 json_out_int(struct json_out *o, int64_t i);
void	 json_out_bool(struct json_out *o, bool b);
void	 json_out_null(struct json_out *o);
/* Embeds v (borrowed) as one value. */
void	 json_out_value(struct json_out *o, const struct json *v);

/*
 * Evaluates the JSON Pointer ptr (RFC 6901 4, C string, "" is the whole
 * document) against root, with RFC 8620 3.7's extension: on an array the
 * token "*" applies the rest of the pointer to each element, giving an
 * array of the results in order, where a result that is itself an array
 * contributes its elements instead.  Stores a new copy of the result in
 * *result_r (the caller frees it) and returns 0.  Returns -1 with a message
 * in err when the pointer is malformed (no leading '/', '~' not followed
 * by '0' or '1') or does not resolve (a missing member, an index that is
 * not a decimal without leading zeros, "-", out of range, a scalar to
 * step into, and any element of a "*" that fails); *result_r is then NULL.
 */
int	 json_pointer_eval(const struct json *root, const char *ptr,
	    struct json **result_r, char *err, size_t errlen);

/*
 * Whether the len bytes at p are well-formed UTF-8 (RFC 3629 4): no
 * overlong forms, no surrogates, nothing beyond U+10FFFF.  NUL is valid.
 */
bool	 json_utf8_valid(const void *p, size_t len);

#endif
