// RespWriter: RESP2/RESP3 encoding of proxy-made replies. RESP2 fallbacks follow Redis 7.0's
// networking.c (addReplyDouble, addReplyMapLen, addReplyNull, addReplyBool, addReplyVerbatim),
// so a client sees the same bytes from foreshard as from a single Redis.
#include "proxy/resp_writer.h"

#include <charconv>
#include <cmath>

namespace proxy {

RespWriter::RespWriter(std::string& out, int protocol) : out_(out), protocol_(protocol) {}

void RespWriter::header(char type, int64_t n) {
  char buf[24];
  buf[0] = type;
  auto res = std::to_chars(buf + 1, buf + sizeof(buf) - 2, n);
  char* p = res.ptr;  // 20 digits + sign always fit
  *p++ = '\r';
  *p++ = '\n';
  out_.append(buf, static_cast<size_t>(p - buf));
}

void RespWriter::line(char type, std::string_view s) {
  size_t at = out_.size();
  out_.push_back(type);
  out_.append(s);
  // CR or LF inside a status line would end it early and desync the client.
  for (size_t i = at + 1; i < out_.size(); ++i) {
    if (out_[i] == '\r' || out_[i] == '\n') {
      out_[i] = ' ';
    }
  }
  out_.append("\r\n", 2);
}

void RespWriter::simple(std::string_view s) { line('+', s); }

void RespWriter::error(std::string_view s) {
  if (!s.empty() && s[0] == '-') {
    s.remove_prefix(1);
  }
  line('-', s);
}

void RespWriter::integer(int64_t v) { header(':', v); }

void RespWriter::bulk(std::string_view s) {
  header('$', static_cast<int64_t>(s.size()));
  out_.append(s);
  out_.append("\r\n", 2);
}

void RespWriter::null() {
  if (protocol_ == 3) {
    out_.append("_\r\n", 3);
  } else {
    out_.append("$-1\r\n", 5);
  }
}

void RespWriter::null_array() {
  if (protocol_ == 3) {
    out_.append("_\r\n", 3);
  } else {
    out_.append("*-1\r\n", 5);
  }
}

void RespWriter::array(size_t n) { header('*', static_cast<int64_t>(n)); }

void RespWriter::map(size_t n) {
  if (protocol_ == 3) {
    header('%', static_cast<int64_t>(n));
  } else {
    header('*', static_cast<int64_t>(n * 2));  // flattened key, value, key, value...
  }
}

void RespWriter::set(size_t n) { header(protocol_ == 3 ? '~' : '*', static_cast<int64_t>(n)); }

void RespWriter::push(size_t n) { header(protocol_ == 3 ? '>' : '*', static_cast<int64_t>(n)); }

void RespWriter::boolean(bool b) {
  if (protocol_ == 3) {
    out_.append(b ? "#t\r\n" : "#f\r\n", 4);
  } else {
    out_.append(b ? ":1\r\n" : ":0\r\n", 4);
  }
}

void RespWriter::dbl(double d) {
  char buf[40];
  size_t n = 0;
  if (std::isinf(d)) {
    // Spelled out as Redis does rather than trusting the libc's spelling.
    std::string_view s = d > 0 ? "inf" : "-inf";
    s.copy(buf, s.size());
    n = s.size();
  } else {
    // %.17g, without printf's locale dependence.
    auto res = std::to_chars(buf, buf + sizeof(buf), d, std::chars_format::general, 17);
    n = static_cast<size_t>(res.ptr - buf);
  }
  if (protocol_ == 3) {
    out_.push_back(',');
    out_.append(buf, n);
    out_.append("\r\n", 2);
  } else {
    bulk(std::string_view(buf, n));
  }
}

void RespWriter::verbatim(std::string_view s, std::string_view fmt) {
  if (protocol_ != 3 || fmt.size() != 3) {
    bulk(s);
    return;
  }
  header('=', static_cast<int64_t>(s.size() + 4));
  out_.append(fmt);
  out_.push_back(':');
  out_.append(s);
  out_.append("\r\n", 2);
}

void RespWriter::raw(std::string_view bytes) { out_.append(bytes); }

}  // namespace proxy
