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
