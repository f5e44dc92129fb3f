"""Government service matters (政务服务事项清单) and their online-service rates (网上可办率、全程网办率)."""
