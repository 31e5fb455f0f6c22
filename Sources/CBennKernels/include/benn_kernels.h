#pragma once
int benn_placeholder(void);
