import BennData
import BennNN
import BennTrain

extension EnsembleArtifact {
    /// A trained ensemble made into its artifact, with what building it computed.
    public struct Assembly {
        public var artifact: EnsembleArtifact
        /// Every accepted member's network, in member order (not only the best prefix).
        public var networks: [Sequential]
        /// Accuracy on the validation view of the first 1, 2, ... members (empty without one).
        public var validationAccuracies: [Double]

        /// The members' weights in member order.
        public var weights: [Double] { artifact.weights }
        /// How many members predictions use.
        public var bestPrefix: Int { artifact.manifest.bestPrefix }
    }

    /// The one way a trained ensemble becomes an artifact, in-process (`benn train`) and on
    /// the coordinator: build the members' networks, keep the shortest prefix with the best
    /// accuracy on `validation` (all members without one) and record the environment.
    public static func assemble(_ ensemble: TrainedEnsemble, classNames: [String], datasetHash: String,
                                validation: DatasetView?, environment: [String: String] = RuntimeInfo.versions) throws -> Assembly {
        let networks = try ensemble.networks()
        let (best, accuracies) = EnsembleEvaluation.bestPrefix(networks, weights: ensemble.state.members.map(\.alpha),
                                                               rule: ensemble.state.spec.ensemble.aggregation, validation: validation)
        let artifact = EnsembleArtifact(ensemble: ensemble, classNames: classNames, datasetHash: datasetHash,
                                        bestPrefix: best, environment: environment)
        return Assembly(artifact: artifact, networks: networks, validationAccuracies: accuracies)
    }
}
