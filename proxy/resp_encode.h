// Request encoding straight into a Buffer (sub-commands of split requests,
// inline commands re-sent as multibulk, AUTH). Replies the proxy builds use
// RespWriter instead; these two are the only request encoders.
#pragma once

#include <charconv>
#include <string_view>

#include "proxy/buffer.h"

namespace proxy {

inline void encode_header(Buffer& b, char type, size_t n) {
  char* p = b.prepare(24);
  p[0] = type;
  auto r = std::to_chars(p + 1, p + 22, n);
  r.ptr[0] = '\r';
  r.ptr[1] = '\n';
  b.commit(r.ptr + 2 - p);
}

inline void encode_bulk(Buffer& b, std::string_view s) {
  encode_header(b, '$', s.size());
  b.append(s);
  b.append("\r\n", 2);
}

}  // namespace proxy
