//! Talking to actiond's HTTP listener: a free loopback port for it, and plain HTTP/1.0 GETs.

use std::io::{Read, Write};

/// A loopback port nothing listens on now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A plain HTTP/1.0 GET; returns the status code, the content type and the body.
pub fn http_get_typed(port: u16, path: &str) -> (u16, String, String) {
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(stream, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").unwrap();
    let mut text = String::new();
    stream.read_to_string(&mut text).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    let content_type = head
        .lines()
        .find_map(|l| l.split_once(':').filter(|(k, _)| k.eq_ignore_ascii_case("content-type")))
        .map_or(String::new(), |(_, v)| v.trim().to_owned());
    (head.split_whitespace().nth(1).unwrap().parse().unwrap(), content_type, body.to_owned())
}

/// A plain HTTP/1.0 GET; returns the status code and the body.
pub fn http_get(port: u16, path: &str) -> (u16, String) {
    let (code, _, body) = http_get_typed(port, path);
    (code, body)
}
