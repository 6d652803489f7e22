package github_test

import (
	"net/url"

	"github.com/changeproof/changeproof/model"
)

type model_Delivery = model.Delivery

func urlQueryEscape(s string) string { return url.QueryEscape(s) }
