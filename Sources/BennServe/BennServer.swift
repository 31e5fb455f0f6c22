import BennData
import BennEnsemble
import BennTensor
import BennTrain
import Foundation
import Hummingbird

/// How the server listens and what it accepts.
public struct ServeOptions: Sendable {
    public var host = "127.0.0.1"
    /// 0 picks a free port (see ``ServeHandle/port``).
    public var port = 8080
    /// Largest request body accepted; larger ones get 413.
    public var maxBodyBytes = 64 << 20
    /// Stop gracefully on SIGTERM/SIGINT (the command line); off for servers in tests.
    public var handleSignals = false
    public init() {}
}

/// A running server.
public final class ServeHandle: Sendable {
    public let host: String
    /// The bound port (the chosen one when asked for port 0).
    public let port: Int
    public let metrics: ServeMetrics
    private let task: Task<Void, any Error>

    init(host: String, port: Int, metrics: ServeMetrics, task: Task<Void, any Error>) {
        self.host = host
        self.port = port
        self.metrics = metrics
        self.task = task
    }

    public var url: String { "http://\(host.contains(":") ? "[\(host)]" : host):\(port)" }

    /// Waits until the server stops (a signal, or ``stop()``).
    public func wait() async throws {
        do { try await task.value } catch is CancellationError {}
    }

    /// Stops listening and closes connections.
    public func stop() async {
        task.cancel()
        _ = try? await task.value
    }
}

public struct ServeStartError: Error, CustomStringConvertible {
    public let description: String
}

/// The HTTP front end: Open Inference Protocol (KServe V2) subset, PNG predictions,
/// health and Prometheus metrics. Endpoints are documented in docs/SERVING.md.
public enum BennServer {
    /// Binds and starts serving `model`; returns once the socket listens.
    public static func start(model: ServedModel, options: ServeOptions, metrics: ServeMetrics = ServeMetrics()) async throws -> ServeHandle {
        let api = ServeAPI(model: model, metrics: metrics, maxBodyBytes: options.maxBodyBytes)
        let router = Router()
        api.register(on: router)
        let responder = ServeResponder(inner: router.buildResponder(), metrics: metrics)
        let (ports, portSink) = AsyncStream<Int>.makeStream()
        var app = Application(
            responder: responder,
            configuration: .init(address: .hostname(options.host, port: options.port), serverName: "benn/\(BennVersion.current)"),
            onServerRunning: { channel in
                portSink.yield(channel.localAddress?.port ?? -1)
                portSink.finish()
            })
        // ``ServeHandle/stop()`` cancels the server task, which Hummingbird reports as errors
        // (a cancelled child channel wait); signals shut down gracefully and quietly.
        app.logger.logLevel = options.handleSignals ? .warning : .critical
        let signals = options.handleSignals
        let task = Task {
            defer { portSink.finish() }
            if signals {
                try await app.runService()
            } else {
                try await app.runService(gracefulShutdownSignals: [])
            }
        }
        for await port in ports {
            return ServeHandle(host: options.host, port: port, metrics: metrics, task: task)
        }
        // The server stopped before listening: report why.
        do { try await task.value } catch {
            throw ServeStartError(description: "cannot listen on \(options.host):\(options.port): \(error)")
        }
        throw ServeStartError(description: "cannot listen on \(options.host):\(options.port)")
    }
}

// MARK: - Responder: JSON errors and request metrics around the router

struct ServeResponder<Inner: HTTPResponder>: HTTPResponder where Inner.Context == BasicRequestContext {
    typealias Context = BasicRequestContext
    let inner: Inner
    let metrics: ServeMetrics

    func respond(to request: Request, context: Context) async throws -> Response {
        var response: Response
        do {
            response = try await inner.respond(to: request, context: context)
        } catch let e as ServeError {
            response = ServeAPI.error(e)
        } catch let e as any HTTPResponseError {
            response = ServeAPI.error(ServeError(Int(e.status.code), e.status.reasonPhrase))
        } catch {
            response = ServeAPI.error(ServeError(500, "internal error: \(error)"))
        }
        // Hummingbird's own errors (unknown route, ...) come without a body.
        if response.status.code == 404, response.headers[.contentType] == nil {
            response = ServeAPI.error(ServeError(404, "no endpoint \(request.method) \(request.uri.path); see GET /v2/models/<name>, POST /v2/models/<name>/infer, POST /predict, GET /health, GET /metrics"))
        }
        metrics.recordRequest(endpoint: ServeAPI.endpointLabel(request.uri.path), code: Int(response.status.code))
        return response
    }
}

extension ServeError: HTTPResponseError {
    public var status: HTTPResponse.Status { HTTPResponse.Status(code: code) }
    public func response(from request: Request, context: some RequestContext) throws -> Response { ServeAPI.error(self) }
}
