extension MethodSpec {
    /// The spec's `method` key: choosing a method starts from that method's defaults, so the
    /// options of the one it replaces never carry over.
    public static let nameField = SpecField<MethodSpec>(
        "method", .choice(Name.allCases.map(\.rawValue)),
        doc: "How binary layers are trained (docs/methods.md); its options go under method_options.",
        methods: nil, optional: false,
        get: { .text($0.name.rawValue) },
        set: { if case let .text(v) = $1, let name = Name(rawValue: v), name != $0.name { $0 = MethodSpec(name) } })

    /// Every option of `method_options`, keyed without the section, in the order each
    /// method's list of valid keys gives them. Each range is wide enough for any recipe the
    /// methods' authors use and narrow enough that no value makes a worker allocate without
    /// bound or compute with infinities.
    public static let optionFields: [SpecField<MethodSpec>] = [
        .choice("gradient", \.gradient, methods: [.xnor, .bireal],
                "Weight gradient through the scale: full (xnor default), straight_through (bireal default), magnitude_aware."),
        .flag("activation_scaling", \.activationScaling, methods: [.xnor],
              "Scale each binary layer's output by the sample's mean |input|."),
        .flag("mean_center", \.meanCenter, methods: [.xnor],
              "Mean-centre and clip binary convolutions' latent weights after every step (unset: no)."),
        .choice("block_order", \.blockOrder, methods: [.xnor],
                "Where a binary block's batch norm sits: bnn (after the layer) or xnor (before the sign) (unset: bnn)."),
        .whole("pretrain_epochs", \.pretrainEpochs, .whole(0...10_000), methods: [.bireal],
               "Epochs of real-valued clip pre-training (unset: a fifth of the epochs, at least 1; 0: off)."),
        .choice("activation_shift", \.activationShift, methods: [.sdbnn],
                "Activation self-distribution: se (per sample, squeeze-and-excitation) or static (per channel)."),
        .whole("se_reduction", \.seReduction, .whole(1...1024), methods: [.sdbnn],
               "Squeeze-and-excitation reduction (hidden width = channels / reduction)."),
        .choice("surrogate", \.surrogate, methods: [.sdbnn], "Surrogate gradient of weights and activations."),
        .choice("weight_surrogate", \.weightSurrogate, methods: [.sdbnn],
                "Surrogate gradient of the weights alone (unset: the same as surrogate)."),
        .real("ede_min_temperature", \.edeMinimumTemperature, .real(0, 1000, lowerIncluded: false), methods: [.sdbnn],
              "EDE's final temperature, at most ede_max_temperature (unset: 0.1 on plain models, 1e-3 on ResNets)."),
        .real("ede_max_temperature", \.edeMaximumTemperature, .real(0, 1000, lowerIncluded: false), methods: [.sdbnn],
              "EDE's starting temperature."),
        .text("teacher", \.teacher, methods: [.reactnet, .sdbnn],
              "Distillation teacher: train (train the float twin first) or a float-twin checkpoint (unset: train for reactnet, none for sdbnn)."),
        .whole("teacher_epochs", \.teacherEpochs, .whole(1...10_000), methods: [.reactnet, .sdbnn],
               "Epochs of a teacher trained first (unset: the spec's epochs)."),
        .flag("two_step", \.twoStep, methods: [.reactnet, .sdbnn],
              "Binary activations with real weights first, then binary weights (unset: yes for reactnet, no for sdbnn)."),
        .whole("first_step_epochs", \.firstStepEpochs, .whole(0...10_000), methods: [.reactnet, .sdbnn],
               "Epochs of the first step (unset: a fifth of the epochs, at least 1)."),
        .flag("restart_schedule", \.restartSchedule, methods: [.reactnet],
              "Start a fresh schedule and optimizer at the second step (unset: no)."),
        .flag("repeat_first_step", \.repeatFirstStep, methods: [.reactnet],
              "A warm-started ensemble member runs the first step again (unset: yes)."),
        .choice("block_activation", \.blockActivation, methods: [.sdbnn],
                "Real-valued activation in each binary block (unset: prelu on ResNets, none on plain models)."),
        .flag("real_first_last", \.realFirstLast, methods: Name.allCases,
              "Keep the first layer's weights and the classifier real-valued (unset: no)."),
        .choice("resnet_shortcut", \.resnetShortcut, methods: Name.allCases,
                "ResNet models: shortcuts per_conv or per_block (unset: per_block for bnn and xnor, per_conv for the others)."),
        .choice("resnet_downsample", \.resnetDownsample, methods: Name.allCases,
                "ResNet models: a stride-2 block's shortcut, strided or avg_pool (unset: avg_pool for bireal, strided for the others)."),
        .text("init_from", \.initFrom, methods: Name.allCases,
              "A float-twin checkpoint whose weights the model starts from (unset: the seed's random initialization)."),
    ]

    /// The option keys each method accepts in a spec's `method_options`.
    public static func optionKeys(for name: Name) -> [String] {
        optionFields.filter { $0.methods?.contains(name) ?? false }.map(\.key)
    }

    /// The range of each numeric option, by its key in a spec's `method_options`.
    public static let optionRanges: [String: ValueRange] = Dictionary(
        uniqueKeysWithValues: optionFields.compactMap { field in field.range.map { (field.key, $0) } })
}
