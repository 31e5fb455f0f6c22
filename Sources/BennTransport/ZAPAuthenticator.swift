import Foundation

/// A ZAP handler (RFC 27) for one context: admits CURVE clients whose long-term public key is
/// in an allow list and refuses everything else.
///
/// It binds `inproc://zeromq.zap.01` on the context from its own thread, which it starts in
/// `init` and which is bound and serving when `init` returns. libzmq asks it about every
/// connection to a CURVE server socket on the same context (and about NULL connections to
/// sockets with a ZAP domain).
///
/// - Important: Start it **before** a CURVE server socket binds, and stop it only **after**
///   those sockets are closed: with no ZAP handler bound, libzmq 4.3 admits every CURVE
///   client that knows the server's public key (`ZMQ_ZAP_ENFORCE_DOMAIN` is a draft option,
///   absent from Debian's build).
///
/// Thread-safe: the allow list may be changed from any thread and applies to the next
/// handshake (already-admitted connections stay open). Only one authenticator per context.
public final class ZAPAuthenticator: Sendable {
    /// The endpoint libzmq sends ZAP requests to.
    public static let endpoint = "inproc://zeromq.zap.01"

    private let state: State

    /// Starts the handler thread and waits until it has bound ``endpoint``.
    /// - Parameters:
    ///   - context: the context whose CURVE sockets it authenticates.
    ///   - allowedPublicKeys: Z85 client public keys (40 characters each).
    ///   - log: called on the handler thread for every decision (accepted and refused); keep it
    ///     short and do not call ``stop()`` from it.
    /// - Throws: `EADDRINUSE` when the context already has a ZAP handler; `EINVAL` for a
    ///   malformed key.
    public init(context: ZMQContext, allowedPublicKeys: Set<String> = [],
                log: (@Sendable (ZAPDecision) -> Void)? = nil) throws {
        try Self.validate(allowedPublicKeys)
        let state = State(allowed: allowedPublicKeys)
        self.state = state
        let thread = Thread { Self.serve(context: context, state: state, log: log) }
        thread.name = "benn.zap"
        thread.start()
        state.started.wait()
        if let error = state.startError { throw error }
    }

    deinit { stop() }

    /// The current allow list.
    public var allowedPublicKeys: Set<String> { state.withLock { $0.allowed } }

    /// Replaces the allow list.
    public func setAllowedPublicKeys(_ keys: Set<String>) throws {
        try Self.validate(keys)
        state.withLock { $0.allowed = keys }
    }

    /// Adds one Z85 client public key.
    public func allow(_ publicKey: String) throws {
        try Self.validate([publicKey])
        state.withLock { _ = $0.allowed.insert(publicKey) }
    }

    /// Removes one key; later handshakes with it are refused.
    public func revoke(_ publicKey: String) {
        state.withLock { _ = $0.allowed.remove(publicKey) }
    }

    /// Stops the handler thread and waits for it to exit (at most ~50 ms). Idempotent.
    public func stop() {
        let first = state.withLock { state -> Bool in
            defer { state.stopRequested = true }
            return !state.stopRequested
        }
        if first { state.finished.wait() }
    }

    private static func validate(_ keys: Set<String>) throws {
        for key in keys where !CurveKeyPair.isValidKey(key) {
            throw ZMQError(code: EINVAL, operation: "ZAPAuthenticator: \"\(key)\" is not a 40-character Z85 key")
        }
    }

    /// Handler thread body. The socket is created, used and closed on this thread only.
    private static func serve(context: ZMQContext, state: State, log: (@Sendable (ZAPDecision) -> Void)?) {
        defer { state.finished.signal() }
        let socket: ZMQSocket
        do {
            // ROUTER rather than REP: no send/receive state machine to get stuck in.
            socket = try ZMQSocket(context: context, type: .router)
            try socket.bind(endpoint)
        } catch {
            state.startError = error as? ZMQError ?? ZMQError(code: EINVAL, operation: "\(error)")
            state.started.signal()
            return
        }
        state.started.signal()
        defer {
            // zmq_close frees the inproc name later, on libzmq's reaper thread; unbinding
            // frees it now, so a new handler can bind as soon as `stop()` returns.
            try? socket.unbind(endpoint)
            socket.close()
        }

        while !state.withLock({ $0.stopRequested }) {
            do {
                // Envelope from libzmq's internal REQ-style client: [routing id][empty][request...].
                guard let frames = try socket.receive(timeoutMilliseconds: 50) else { continue }
                guard frames.count >= 2, frames[1].isEmpty else { continue }
                let (reply, decision) = zapEvaluate(Array(frames[2...]), allowed: state.withLock { $0.allowed })
                try socket.send([frames[0], []] + reply)
                log?(decision)
            } catch let error as ZMQError where error.isContextTerminated {
                return
            } catch {
                continue  // one bad exchange; keep serving (an absent handler fails open)
            }
        }
    }

    /// Shared between the caller and the handler thread; mutable fields under `lock`, except
    /// `startError`, written before `started` is signalled and read after waiting on it.
    private final class State: @unchecked Sendable {
        struct Locked {
            var allowed: Set<String>
            var stopRequested = false
        }
        private let lock = NSLock()
        private var locked: Locked
        let started = DispatchSemaphore(value: 0)
        let finished = DispatchSemaphore(value: 0)
        var startError: ZMQError?

        init(allowed: Set<String>) { locked = Locked(allowed: allowed) }

        func withLock<T>(_ body: (inout Locked) -> T) -> T {
            lock.lock()
            defer { lock.unlock() }
            return body(&locked)
        }
    }
}
