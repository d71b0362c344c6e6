/* test_mime.c: the extension to Content-Type table (src/mime.c). */
#include <criterion/criterion.h>
#include <string.h>

#include "mime.h"

#define UTF8 "; charset=utf-8"

static const struct {
    const char *ext;
    const char *type;
} expected[] = {
    {"html", "text/html" UTF8},
    {"htm", "text/html" UTF8},
    {"css", "text/css" UTF8},
    {"js", "text/javascript" UTF8},
    {"mjs", "text/javascript" UTF8},
    {"cjs", "text/javascript" UTF8},
    {"json", "application/json"},
    {"map", "application/json"},
    {"jsonld", "application/ld+json"},
    {"geojson", "application/geo+json"},
    {"xml", "application/xml"},
    {"txt", "text/plain" UTF8},
    {"csv", "text/csv" UTF8},
    {"md", "text/markdown" UTF8},
    {"markdown", "text/markdown" UTF8},
    {"ics", "text/calendar" UTF8},
    {"vtt", "text/vtt" UTF8},
    {"svg", "image/svg+xml"},
    {"png", "image/png"},
    {"apng", "image/apng"},
    {"jpg", "image/jpeg"},
    {"jpeg", "image/jpeg"},
    {"gif", "image/gif"},
    {"webp", "image/webp"},
    {"avif", "image/avif"},
    {"jxl", "image/jxl"},
    {"heic", "image/heic"},
    {"heif", "image/heif"},
    {"tif", "image/tiff"},
    {"tiff", "image/tiff"},
    {"ico", "image/vnd.microsoft.icon"},
    {"bmp", "image/bmp"},
    {"woff", "font/woff"},
    {"woff2", "font/woff2"},
    {"ttf", "font/ttf"},
    {"otf", "font/otf"},
    {"eot", "application/vnd.ms-fontobject"},
    {"mp3", "audio/mpeg"},
    {"ogg", "audio/ogg"},
    {"oga", "audio/ogg"},
    {"opus", "audio/ogg"},
    {"wav", "audio/x-wav"},
    {"flac", "audio/flac"},
    {"aac", "audio/aac"},
    {"m4a", "audio/mp4"},
    {"weba", "audio/webm"},
    {"mp4", "video/mp4"},
    {"m4v", "video/mp4"},
    {"webm", "video/webm"},
    {"ogv", "video/ogg"},
    {"ogx", "application/ogg"},
    {"mkv", "video/x-matroska"},
    {"mov", "video/quicktime"},
    {"avi", "video/x-msvideo"},
    {"mpeg", "video/mpeg"},
    {"mpg", "video/mpeg"},
    {"3gp", "video/3gpp"},
    {"pdf", "application/pdf"},
    {"zip", "application/zip"},
    {"gz", "application/gzip"},
    {"tar", "application/x-tar"},
    {"bz2", "application/x-bzip2"},
    {"xz", "application/x-xz"},
    {"zst", "application/zstd"},
    {"7z", "application/x-7z-compressed"},
    {"wasm", "application/wasm"},
    {"xhtml", "application/xhtml+xml"},
    {"xht", "application/xhtml+xml"},
    {"rss", "application/x-rss+xml"},
    {"atom", "application/atom+xml"},
    {"webmanifest", "application/manifest+json"},
    {"yaml", "application/yaml"},
    {"yml", "application/yaml"},
    {"toml", "application/toml"},
    {"epub", "application/epub+zip"},
    {"jar", "application/java-archive"},
    {"rtf", "application/rtf"},
    {"doc", "application/msword"},
    {"docx", "application/"
             "vnd.openxmlformats-officedocument.wordprocessingml.document"},
    {"xls", "application/vnd.ms-excel"},
    {"xlsx",
     "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"},
    {"ppt", "application/vnd.ms-powerpoint"},
    {"pptx", "application/"
             "vnd.openxmlformats-officedocument.presentationml.presentation"},
    {"odt", "application/vnd.oasis.opendocument.text"},
    {"ods", "application/vnd.oasis.opendocument.spreadsheet"},
    {"odp", "application/vnd.oasis.opendocument.presentation"},
};

Test(mime, table_is_sorted_and_sound)
{
    char err[HERD_ERR_LEN] = "";

    cr_assert_eq(herd_mime_check(err, sizeof(err)), HERD_OK, "%s", err);
}

Test(mime, every_expected_extension)
{
    const char *t;
    size_t i;

    for (i = 0; i < HERD_ARRAY_LEN(expected); i++) {
        t = herd_mime_by_ext(expected[i].ext, strlen(expected[i].ext));
        cr_assert_not_null(t, "%s missing", expected[i].ext);
        cr_assert_str_eq(t, expected[i].type, "%s", expected[i].ext);
    }
}

Test(mime, lookup_ignores_case)
{
    cr_assert_str_eq(herd_mime_by_ext("HTML", 4), "text/html" UTF8);
    cr_assert_str_eq(herd_mime_by_ext("Png", 3), "image/png");
    cr_assert_str_eq(herd_mime_by_ext("WOFF2", 5), "font/woff2");
    cr_assert_str_eq(herd_mime_by_ext("WebManifest", 11),
                     "application/manifest+json");
}

Test(mime, unknown_extensions)
{
    cr_assert_null(herd_mime_by_ext("", 0));
    cr_assert_null(herd_mime_by_ext("exe", 3));
    cr_assert_null(herd_mime_by_ext("htmlx", 5));
    cr_assert_null(herd_mime_by_ext("htm", 2)); /* "ht" */
    cr_assert_null(herd_mime_by_ext("a", 1));
    cr_assert_null(herd_mime_by_ext("zzzzzz", 6));
    cr_assert_null(herd_mime_by_ext("000", 3));
    cr_assert_null(herd_mime_by_ext("averyveryverylongextension", 26));
    cr_assert_null(herd_mime_by_ext("ht\0l", 4));
}

/* herd_mime_type on a C string. */
static const char *
type_of(const char *name)
{
    return herd_mime_type(name, strlen(name));
}

Test(mime, type_from_names_and_paths)
{
    cr_assert_str_eq(type_of("index.html"), "text/html" UTF8);
    cr_assert_str_eq(type_of("a/b/app.min.js"), "text/javascript" UTF8);
    cr_assert_str_eq(type_of("archive.tar.gz"), "application/gzip");
    cr_assert_str_eq(type_of("PHOTO.JPG"), "image/jpeg");
    cr_assert_str_eq(type_of("dir.d/file.css"), "text/css" UTF8);
    cr_assert_str_eq(type_of(".config/x.json"), "application/json");
}

Test(mime, default_for_unknown_or_none)
{
    cr_assert_str_eq(type_of(""), HERD_MIME_DEFAULT);
    cr_assert_str_eq(type_of("README"), HERD_MIME_DEFAULT);
    cr_assert_str_eq(type_of("file."), HERD_MIME_DEFAULT);
    cr_assert_str_eq(type_of("setup.exe"), HERD_MIME_DEFAULT);
    /* The dot of a dotfile starts no extension. */
    cr_assert_str_eq(type_of(".html"), HERD_MIME_DEFAULT);
    cr_assert_str_eq(type_of("dir/.css"), HERD_MIME_DEFAULT);
    /* A dot in a directory name is not the file's extension. */
    cr_assert_str_eq(type_of("site.html/README"), HERD_MIME_DEFAULT);
    cr_assert_str_eq(type_of("a.png/"), HERD_MIME_DEFAULT);
    cr_assert_str_eq(HERD_MIME_DEFAULT, "application/octet-stream");
}

Test(mime, respects_len)
{
    /* Only "x.htm" of "x.html" is given. */
    cr_assert_str_eq(herd_mime_type("x.html", 5), "text/html" UTF8);
    cr_assert_str_eq(herd_mime_type("x.json", 5), HERD_MIME_DEFAULT);
}
