# Turns the file IN into a C++ source OUT defining
#   extern const unsigned char kCommandsFallback[]; extern const size_t kCommandsFallbackSize;
file(READ ${IN} hex HEX)
string(LENGTH "${hex}" hexlen)
math(EXPR size "${hexlen} / 2")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
file(WRITE ${OUT} "// Generated from ${IN} by cmake/embed_bytes.cmake. Do not edit.\n#include <cstddef>\nnamespace proxy {\nextern const unsigned char kCommandsFallback[] = {${bytes}0};\nextern const std::size_t kCommandsFallbackSize = ${size};\n}\n")
