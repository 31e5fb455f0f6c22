public enum BennTrainPlaceholder {}
