public enum BennTensorPlaceholder {}
