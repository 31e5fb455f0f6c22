public enum BennNNPlaceholder {}
