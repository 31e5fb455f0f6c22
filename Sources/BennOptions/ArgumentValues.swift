import ArgumentParser
import BennNN
import BennTrain

/// `--boosting-rule samme_shrunk`: parsed and listed in the help by its spec name.
extension TrainingSpec.BoostingRule: ExpressibleByArgument {}
extension MethodSpec.Name: ExpressibleByArgument {}
extension MethodSpec.ShortcutPlacement: ExpressibleByArgument {}
extension TrainingSpec.Start: ExpressibleByArgument {}
extension TrainingSpec.Sampling: ExpressibleByArgument {}
