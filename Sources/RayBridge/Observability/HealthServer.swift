import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import Prometheus
import RayBridgeClients
import RayBridgeCore
import ServiceLifecycle

/// `--listen ADDR:PORT`: `/healthz` (the process and what it needs are alive: `liveness`), `/readyz`
/// (ConfigMap read and Ray reachable), `/metrics` (Prometheus text format).
public struct HealthServer: Service {
    let host: String
    let port: Int
    let health: HealthState
    let registry: PrometheusCollectorRegistry
    let liveness: HealthHTTPHandler.Liveness
    let logger: Logger

    /// `liveness`: nil while the process can do its work, else why not (`/healthz` answers 503).
    public init(
        listen: String, health: HealthState, registry: PrometheusCollectorRegistry, logger: Logger,
        liveness: @escaping HealthHTTPHandler.Liveness
    ) throws {
        guard let colon = listen.lastIndex(of: ":"), let port = Int(listen[listen.index(after: colon)...]), (0...65535).contains(port) else {
            throw HealthServerError(description: "--listen must be ADDR:PORT, e.g. 0.0.0.0:9533, found \"\(listen)\"")
        }
        var host = String(listen[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        self.host = host.isEmpty ? "0.0.0.0" : host
        self.port = port
        self.health = health
        self.registry = registry
        self.liveness = liveness
        self.logger = logger
    }

    public func run() async throws {
        let health = health
        let registry = registry
        let liveness = liveness
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.pipeline.configureHTTPServerPipeline().flatMapThrowing {
                    try channel.pipeline.syncOperations.addHandler(HealthHTTPHandler(health: health, registry: registry, liveness: liveness))
                }
            }
            .bind(host: host, port: port).get()
        logger.info("serving /healthz, /readyz and /metrics", metadata: ["listen": "\(host):\(port)"])
        try await withGracefulShutdownHandler {
            try await channel.closeFuture.get()
        } onGracefulShutdown: {
            channel.close(promise: nil)
        }
    }
}

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

public struct HealthServerError: Error, CustomStringConvertible {
    public var description: String
}
