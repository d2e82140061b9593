import NIOCore
import NIOHTTP1
import Prometheus
import RayBridgeCore

/// Answers one connection's requests for `/healthz`, `/readyz` and `/metrics`.
public final class HealthHTTPHandler: ChannelInboundHandler {
    public typealias InboundIn = HTTPServerRequestPart
    public typealias OutboundOut = HTTPServerResponsePart
    public typealias Liveness = @Sendable () -> String?

    private let health: HealthState
    private let registry: PrometheusCollectorRegistry
    private let liveness: Liveness
    private var path = "/"
    private var keepAlive = false

    init(health: HealthState, registry: PrometheusCollectorRegistry, liveness: @escaping Liveness) {
        self.health = health
        self.registry = registry
        self.liveness = liveness
    }

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            path = String(head.uri.split(separator: "?", maxSplits: 1).first ?? "/")
            keepAlive = head.isKeepAlive
        case .body:
            break
        case .end:
            let (status, contentType, body) = respond()
            var headers = HTTPHeaders()
            headers.add(name: "Content-Type", value: contentType)
            headers.add(name: "Content-Length", value: String(body.readableBytes))
            if !keepAlive { headers.add(name: "Connection", value: "close") }
            context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers))), promise: nil)
            context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
            let keepAlive = keepAlive
            let channel = context.channel
            context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in
                if !keepAlive { channel.close(promise: nil) }
            }
        }
    }

    private func respond() -> (HTTPResponseStatus, String, ByteBuffer) {
        switch path {
        case "/healthz":
            if let problem = liveness() {
                return (.serviceUnavailable, "text/plain", ByteBuffer(string: "\(problem)\n"))
            }
            return (.ok, "text/plain", ByteBuffer(string: "ok\n"))
        case "/readyz":
            if let reason = health.notReadyReason {
                return (.serviceUnavailable, "text/plain", ByteBuffer(string: "not ready: \(reason)\n"))
            }
            return (.ok, "text/plain", ByteBuffer(string: "ready\n"))
        case "/metrics":
            return (.ok, "text/plain; version=0.0.4", ByteBuffer(bytes: registry.emitToBuffer()))
        default:
            return (.notFound, "text/plain", ByteBuffer(string: "not found: try /healthz, /readyz or /metrics\n"))
        }
    }
}
