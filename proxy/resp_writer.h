// RespWriter: encodes the replies the proxy builds itself (local commands, errors, merged
// fan-out replies) in RESP2 or RESP3, appending to a caller-owned output string. Replies from
// backends are forwarded as bytes and never pass through here (except via raw()).
// Numbers are formatted with std::to_chars: no allocation beyond the output's own growth.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace proxy {

class RespWriter {
 public:
  // Appends to `out`, which must outlive the writer. `protocol` is 2 or 3 (HELLO); any value
  // other than 3 means RESP2.
  RespWriter(std::string& out, int protocol = 2);

  void simple(std::string_view s);  // +s   (CR/LF inside are replaced by spaces)
  // -s  The caller passes "ERR ...", "WRONGTYPE ..." etc.; a leading '-' is dropped rather than
  // doubled, and CR/LF inside are replaced by spaces (as Redis's addReplyErrorLength does).
  void error(std::string_view s);
  void integer(int64_t v);  // :v
  void bulk(std::string_view s);
  void null();           // RESP2 $-1, RESP3 _
  void null_array();     // RESP2 *-1, RESP3 _
  void array(size_t n);  // header *n; the caller then writes n elements
  void map(size_t n);    // RESP2 *2n, RESP3 %n; the caller writes n key/value pairs
  void set(size_t n);    // RESP2 *n, RESP3 ~n
  void push(size_t n);   // RESP2 *n, RESP3 >n
  void boolean(bool b);  // RESP2 :1/:0, RESP3 #t/#f
  // RESP2 bulk string, RESP3 ,d; formatted like Redis's addReplyDouble: %.17g, "inf"/"-inf".
  void dbl(double d);
  // RESP2 bulk of `s`; RESP3 =len\r\nfmt:s. `fmt` must be 3 bytes, else RESP3 also writes a
  // plain bulk.
  void verbatim(std::string_view s, std::string_view fmt = "txt");
  void raw(std::string_view bytes);  // already-encoded RESP, appended as is

  int protocol() const { return protocol_; }

 private:
  void header(char type, int64_t n);         // type + decimal n + CRLF
  void line(char type, std::string_view s);  // type + s (CR/LF -> space) + CRLF

  std::string& out_;
  int protocol_;
};

}  // namespace proxy
