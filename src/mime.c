/* mime.c: the built-in table from file-name extension to Content-Type. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "mime.h"
#include "util.h"

/* Longer extensions are never in the table ("webmanifest" is 11). */
#define MAX_EXT_LEN 16

#define TEXT(sub) "text/" sub "; charset=utf-8"

struct mime_entry {
    const char *ext;
    const char *type;
};

/*
 * Sorted by extension (bytewise). The types are Debian's /etc/mime.types
 * (media-types 10) for the formats web sites serve; where Debian has none,
 * the IANA registration: map (source maps are JSON), yaml/yml (RFC 9512),
 * toml, weba, bz2. herd_mime_check guards the order.
 */
static const struct mime_entry table[] = {
    {"3gp", "video/3gpp"},
    {"7z", "application/x-7z-compressed"},
    {"aac", "audio/aac"},
    {"apng", "image/apng"},
    {"atom", "application/atom+xml"},
    {"avi", "video/x-msvideo"},
    {"avif", "image/avif"},
    {"bmp", "image/bmp"},
    {"bz2", "application/x-bzip2"},
    {"cjs", TEXT("javascript")},
    {"css", TEXT("css")},
    {"csv", TEXT("csv")},
    {"doc", "application/msword"},
    {"docx",
     "application/vnd.openxmlformats-officedocument.wordprocessingml.document"},
    {"eot", "application/vnd.ms-fontobject"},
    {"epub", "application/epub+zip"},
    {"flac", "audio/flac"},
    {"geojson", "application/geo+json"},
    {"gif", "image/gif"},
    {"gz", "application/gzip"},
    {"heic", "image/heic"},
    {"heif", "image/heif"},
    {"htm", TEXT("html")},
    {"html", TEXT("html")},
    {"ico", "image/vnd.microsoft.icon"},
    {"ics", TEXT("calendar")},
    {"jar", "application/java-archive"},
    {"jpeg", "image/jpeg"},
    {"jpg", "image/jpeg"},
    {"js", TEXT("javascript")},
    {"json", "application/json"},
    {"jsonld", "application/ld+json"},
    {"jxl", "image/jxl"},
    {"m4a", "audio/mp4"},
    {"m4v", "video/mp4"},
    {"map", "application/json"},
    {"markdown", TEXT("markdown")},
    {"md", TEXT("markdown")},
    {"mjs", TEXT("javascript")},
    {"mkv", "video/x-matroska"},
    {"mov", "video/quicktime"},
    {"mp3", "audio/mpeg"},
    {"mp4", "video/mp4"},
    {"mpeg", "video/mpeg"},
    {"mpg", "video/mpeg"},
    {"odp", "application/vnd.oasis.opendocument.presentation"},
    {"ods", "application/vnd.oasis.opendocument.spreadsheet"},
    {"odt", "application/vnd.oasis.opendocument.text"},
    {"oga", "audio/ogg"},
    {"ogg", "audio/ogg"},
    {"ogv", "video/ogg"},
    {"ogx", "application/ogg"},
    {"opus", "audio/ogg"},
    {"otf", "font/otf"},
    {"pdf", "application/pdf"},
    {"png", "image/png"},
    {"ppt", "application/vnd.ms-powerpoint"},
    {"pptx", "application/"
             "vnd.openxmlformats-officedocument.presentationml.presentation"},
    {"rss", "application/x-rss+xml"},
    {"rtf", "application/rtf"},
    {"svg", "image/svg+xml"},
    {"tar", "application/x-tar"},
    {"tif", "image/tiff"},
    {"tiff", "image/tiff"},
    {"toml", "application/toml"},
    {"ttf", "font/ttf"},
    {"txt", TEXT("plain")},
    {"vtt", TEXT("vtt")},
    {"wasm", "application/wasm"},
    {"wav", "audio/x-wav"},
    {"weba", "audio/webm"},
    {"webm", "video/webm"},
    {"webmanifest", "application/manifest+json"},
    {"webp", "image/webp"},
    {"woff", "font/woff"},
    {"woff2", "font/woff2"},
    {"xht", "application/xhtml+xml"},
    {"xhtml", "application/xhtml+xml"},
    {"xls", "application/vnd.ms-excel"},
    {"xlsx",
     "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"},
    {"xml", "application/xml"},
    {"xz", "application/x-xz"},
    {"yaml", "application/yaml"},
    {"yml", "application/yaml"},
    {"zip", "application/zip"},
    {"zst", "application/zstd"},
};

/* Compare the lower-case key[0..len) with the NUL-terminated ext. */
static int
ext_cmp(const char *key, size_t len, const char *ext)
{
    size_t n = strlen(ext);
    int c = memcmp(key, ext, len < n ? len : n);

    if (c != 0)
        return c;
    return len < n ? -1 : len > n;
}

const char *
herd_mime_by_ext(const char *ext, size_t len)
{
    char key[MAX_EXT_LEN];
    size_t i, lo = 0, hi = HERD_ARRAY_LEN(table), mid;
    int c;

    if (len == 0 || len > sizeof(key))
        return NULL;
    for (i = 0; i < len; i++)
        key[i] = ext[i] >= 'A' && ext[i] <= 'Z' ? (char)(ext[i] + 32) : ext[i];
    while (lo < hi) {
        mid = lo + (hi - lo) / 2;
        c = ext_cmp(key, len, table[mid].ext);
        if (c == 0)
            return table[mid].type;
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

const char *
herd_mime_type(const char *name, size_t len)
{
    const char *type;
    size_t i = len;

    while (i > 0 && name[i - 1] != '.' && name[i - 1] != '/')
        i--;
    /* No dot, or the dot starts the component: no extension. */
    if (i <= 1 || name[i - 1] != '.' || name[i - 2] == '/')
        return HERD_MIME_DEFAULT;
    type = herd_mime_by_ext(name + i, len - i);
    return type != NULL ? type : HERD_MIME_DEFAULT;
}

int
herd_mime_check(char *err, size_t errlen)
{
    size_t i, k;
    const char *e;

    for (i = 0; i < HERD_ARRAY_LEN(table); i++) {
        e = table[i].ext;
        for (k = 0; e[k] != '\0'; k++) {
            if (e[k] >= 'A' && e[k] <= 'Z') {
                herd_errf(err, errlen, "extension \"%s\" is not lower-case", e);
                return HERD_ERR;
            }
        }
        if (k == 0 || k > MAX_EXT_LEN) {
            herd_errf(err, errlen, "extension \"%s\" has a bad length", e);
            return HERD_ERR;
        }
        if (i > 0 && strcmp(table[i - 1].ext, e) >= 0) {
            herd_errf(err, errlen, "extension \"%s\" is out of order", e);
            return HERD_ERR;
        }
        if (strncmp(table[i].type, "text/", 5) == 0 &&
            strstr(table[i].type, "; charset=utf-8") == NULL) {
            herd_errf(err, errlen, "text type for \"%s\" has no charset", e);
            return HERD_ERR;
        }
    }
    return HERD_OK;
}
