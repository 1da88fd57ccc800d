// Preloaded (node --import) by bench/compare.py: Portkey's start-server.js calls
// server.listen(port) without an address, which binds every interface; the benchmark
// keeps every server on loopback, so an address-less listen gets 127.0.0.1.
import net from "node:net";

const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function (port, host, ...rest) {
  if (typeof port === "number" && (host === undefined || host === null || typeof host === "function")) {
    if (typeof host === "function") rest.unshift(host);
    return listen.call(this, port, "127.0.0.1", ...rest);
  }
  return listen.call(this, port, host, ...rest);
};
